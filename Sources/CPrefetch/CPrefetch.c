// The module's one function is the static inline in include/CPrefetch.h; SwiftPM needs a source file.
#include "CPrefetch.h"
