// Optim's API is written in FloatBuffer and ThreadPool: importing Optim brings them along.
@_exported import Kernels
