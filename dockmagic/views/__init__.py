"""Views: a widget and a text rendering of each model. Views observe models; they never call the engine."""
