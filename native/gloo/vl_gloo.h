// vl_gloo: a C API over Gloo (Debian's libgloo-dev) for the C# GlooCollectives backend.
//
// Every function that can fail returns VL_GLOO_OK (0) or a negative error code; the message of the last failure on
// the calling thread is vl_gloo_last_error(). No C++ exception leaves this library.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Bumped whenever a signature below changes; the C# side refuses a library with another version.
#define VL_GLOO_ABI_VERSION 2

enum vl_gloo_status {
    VL_GLOO_OK = 0,
    // Gloo reported an I/O failure: a peer closed its connection, or an operation timed out.
    VL_GLOO_IO_ERROR = -1,
    // The rendezvous store (the C# callbacks) failed; the C# side holds the cause.
    VL_GLOO_STORE_ERROR = -2,
    // Any other failure: an invalid argument, a Gloo precondition, out of memory.
    VL_GLOO_ERROR = -3,
};

enum vl_gloo_dtype {
    VL_GLOO_FLOAT32 = 0,
    VL_GLOO_FLOAT64 = 1,
    VL_GLOO_INT32 = 2,
    VL_GLOO_INT64 = 3,
};

typedef struct vl_gloo_context vl_gloo_context;

// Receives a store value inside vl_gloo_store_get_fn (vl_gloo_sink_put copies it).
typedef struct vl_gloo_sink vl_gloo_sink;

// Publishes value under key; returns 0, or nonzero when the store failed.
typedef int (*vl_gloo_store_set_fn)(void* state, const char* key, const uint8_t* value, size_t length);

// Waits until key is set (at most timeout_ms), then hands its value to vl_gloo_sink_put(sink, ...); returns 0, or
// nonzero when the store failed or timed out.
typedef int (*vl_gloo_store_get_fn)(void* state, const char* key, int64_t timeout_ms, vl_gloo_sink* sink);

int vl_gloo_abi_version(void);

// The message of the last failure on this thread ("" if none). Valid until the next call on this thread.
const char* vl_gloo_last_error(void);

void vl_gloo_sink_put(vl_gloo_sink* sink, const uint8_t* value, size_t length);

// Creates a TCP device bound to hostname (an address or name; used when iface is NULL or empty) or to the network
// interface iface, and connects rank to every other rank through the store. join_timeout_ms bounds each store wait
// and each connection; collective_timeout_ms bounds every collective afterwards.
int vl_gloo_connect(
    int rank,
    int size,
    const char* hostname,
    const char* iface,
    int64_t join_timeout_ms,
    int64_t collective_timeout_ms,
    vl_gloo_store_set_fn set,
    vl_gloo_store_get_fn get,
    void* store_state,
    vl_gloo_context** out);

// In place: data (count elements of dtype) becomes the element-wise sum over the ranks.
int vl_gloo_allreduce_sum(vl_gloo_context* context, int dtype, void* data, size_t count);

// In place: root's bytes are copied into every rank's data.
int vl_gloo_broadcast(vl_gloo_context* context, void* data, size_t bytes, int root);

// output receives every rank's input in rank order; rank i contributes bytes_per_rank[i] bytes
// (input_bytes == bytes_per_rank[own rank]).
int vl_gloo_allgatherv(
    vl_gloo_context* context, const void* input, size_t input_bytes, void* output, const uint64_t* bytes_per_rank);

int vl_gloo_barrier(vl_gloo_context* context);

// Fails whatever this rank waits for in a collective (with an I/O error naming the abort) and closes its connections,
// so peers fail too instead of waiting for their timeout. Safe to call from another thread during a collective.
void vl_gloo_abort(vl_gloo_context* context);

// Closes the connections and frees the context. No collective may be running on it.
void vl_gloo_destroy(vl_gloo_context* context);

#ifdef __cplusplus
}
#endif
