// Tensors are built on Optim's Parameter and Kernels' FloatBuffer: importing Autograd brings both along.
@_exported import Kernels
@_exported import Optim
