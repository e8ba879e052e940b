// Layers are written in tensors and parameters: importing NN brings Autograd, Optim and Kernels along.
@_exported import Autograd
