// The few pieces of Open MPI's C API that Swift cannot import as they are: its handles (MPI_COMM_WORLD,
// MPI_BYTE, MPI_STATUSES_IGNORE, MPI_ERRORS_RETURN) are macros that expand to casts of global objects' addresses.
// Each becomes a function here; everything else (MPI_Isend, MPI_Irecv, MPI_Testall, ...) Swift calls directly.
#include <mpi.h>

static inline MPI_Comm adamw_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype adamw_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Status *adamw_mpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
static inline MPI_Request adamw_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline int adamw_mpi_success(void) { return MPI_SUCCESS; }
static inline int adamw_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }

// Errors come back as return codes (the default handler aborts the whole job with a message of its own), so
// that the program can name the rank and the operation that failed.
static inline int adamw_mpi_return_errors(void) {
    return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

static inline int adamw_mpi_error_text(int code, char *text, int capacity) {
    int length = 0;
    if (capacity < MPI_MAX_ERROR_STRING) return -1;
    MPI_Error_string(code, text, &length);
    return length;
}
