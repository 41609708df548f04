"""ember.save / ember.load internals: the safetensors container, the JSON object tree, the torch zip reader."""
