"""torch._dynamo.config: the settings training scripts assign (torch._dynamo.config.suppress_errors = True, ...),
with PyTorch 2.13's defaults. Nothing here reads them (tritorch traces nothing); they exist so that those scripts
run and read back what they set, while a misspelt name still raises AttributeError."""

suppress_errors = False
cache_size_limit = 8
recompile_limit = 8
accumulated_cache_size_limit = 256
accumulated_recompile_limit = 256
verbose = False
optimize_ddp = True
capture_scalar_outputs = False
capture_dynamic_output_shape_ops = False
automatic_dynamic_shapes = True
assume_static_by_default = True
guard_nn_modules = True
inline_inbuilt_nn_modules = True
force_parameter_static_shapes = True
specialize_int = False
dynamic_shapes = True
error_on_recompile = False
replay_record_enabled = False
