"""Operations: plain functions that talk to the engine and return result objects (no IPython here)."""
