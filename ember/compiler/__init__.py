"""ember.compile: capture a program and run it through a compiling backend."""
