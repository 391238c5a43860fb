emacs lock
