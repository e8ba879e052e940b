/// Compile-time flags of the Swift kernels' loops (RMSprop's, Adagrad's).
protocol StaticBool { static var value: Bool { get } }
enum True: StaticBool { static var value: Bool { true } }
enum False: StaticBool { static var value: Bool { false } }
