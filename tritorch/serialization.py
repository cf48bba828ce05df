"""tt.save / tt.load: state dicts in safetensors format, written atomically; no pickle."""
__all__: list = []
