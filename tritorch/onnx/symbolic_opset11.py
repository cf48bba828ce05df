"""torch.onnx.symbolic_opset11: PyTorch's ONNX symbolic functions for opset 11, which custom-op symbolics call
while an export builds its graph. tritorch has no exporter, so none is defined; packages that import the module
for their symbolic functions (torchvision.ops) import, and those functions are never called."""
