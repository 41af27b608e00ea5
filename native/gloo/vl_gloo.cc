// vl_gloo: the C API of vl_gloo.h over Gloo's C++ API (Debian 12's libgloo-dev, snapshot 2022-05-18, 5b14351).
//
// Built by scripts/build-native.sh into .native/libvl_gloo.so; loaded by
// src/VisionLanguage.Training/Distributed/Gloo/GlooNative.cs. docs/decisions/gloo-backend.md says why it looks as it does.
#include "vl_gloo.h"

#include <dlfcn.h>

#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <gloo/allgatherv.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/store.h>
#include <gloo/transport/tcp/device.h>
#include <gloo/transport/tcp/pair.h>

#define VL_GLOO_API extern "C" __attribute__((visibility("default")))

namespace {

thread_local std::string last_error;

// The C# store callbacks failed (timed out, were cancelled, threw): the C# side keeps the exception itself.
struct StoreFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Runs body, turning every exception into a status code and this thread's last error; nothing crosses the C boundary.
template <typename Body>
int guarded(Body&& body) noexcept {
    try {
        last_error.clear();
        body();
        return VL_GLOO_OK;
    } catch (const StoreFailure& e) {
        last_error = e.what();
        return VL_GLOO_STORE_ERROR;
    } catch (const gloo::IoException& e) {
        last_error = e.what();
        return VL_GLOO_IO_ERROR;
    } catch (const std::exception& e) {
        last_error = e.what();
        return VL_GLOO_ERROR;
    } catch (...) {
        last_error = "unknown C++ exception";
        return VL_GLOO_ERROR;
    }
}

// Gloo's rendezvous store, backed by the C# IRendezvousStore through two function pointers.
class CallbackStore final : public gloo::rendezvous::Store {
public:
    CallbackStore(vl_gloo_store_set_fn set, vl_gloo_store_get_fn get, void* state, std::chrono::milliseconds timeout)
        : set_(set), get_(get), state_(state), timeout_(timeout) {}

    void set(const std::string& key, const std::vector<char>& data) override {
        if (set_(state_, key.c_str(), reinterpret_cast<const uint8_t*>(data.data()), data.size()) != 0) {
            throw StoreFailure("the rendezvous store failed to set key '" + key + "'");
        }
    }

    std::vector<char> get(const std::string& key) override { return fetch(key, timeout_); }

    void wait(const std::vector<std::string>& keys) override { wait(keys, timeout_); }

    void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override {
        for (const auto& key : keys) {
            fetch(key, timeout);
        }
    }

private:
    std::vector<char> fetch(const std::string& key, std::chrono::milliseconds timeout) {
        vl_gloo_sink* sink = reinterpret_cast<vl_gloo_sink*>(&value_);
        value_.clear();
        if (get_(state_, key.c_str(), static_cast<int64_t>(timeout.count()), sink) != 0) {
            throw StoreFailure("the rendezvous store failed to get key '" + key + "'");
        }
        return value_;
    }

    vl_gloo_store_set_fn set_;
    vl_gloo_store_get_fn get_;
    void* state_;
    std::chrono::milliseconds timeout_;
    std::vector<char> value_;
};

// Pair::signalExceptionExternal is what Gloo itself calls on every pair when an operation times out: it fails the
// operations waiting on the pair. It is protected; a pointer to it taken through a derived class is the standard way
// to reach it without redefining access (the class is never instantiated).
struct PairAccess : gloo::transport::tcp::Pair {
    static auto signalMember() { return &PairAccess::signalExceptionExternal; }
};

template <typename T>
void allreduce_sum(const std::shared_ptr<gloo::Context>& context, void* data, size_t count,
                   std::chrono::milliseconds timeout) {
    gloo::AllreduceOptions options(context);
    options.setOutput<T>(static_cast<T*>(data), count);
    options.setReduceFunction(static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<T>));
    options.setTimeout(timeout);
    gloo::allreduce(options);
}

}  // namespace

struct vl_gloo_context {
    std::shared_ptr<gloo::transport::Device> device;
    std::shared_ptr<gloo::rendezvous::Context> gloo;
    std::chrono::milliseconds timeout;
};

VL_GLOO_API int vl_gloo_abi_version(void) { return VL_GLOO_ABI_VERSION; }

VL_GLOO_API const char* vl_gloo_last_error(void) { return last_error.c_str(); }

VL_GLOO_API const char* vl_gloo_implementation_path(void) {
    // The file that provides the Gloo code this library calls: Debian's libgloo.so.0 unless another copy of Gloo
    // (libtorch_cpu.so has one) was loaded into the global symbol scope first.
    static std::string path = [] {
        Dl_info info{};
        auto* symbol = reinterpret_cast<void*>(&gloo::transport::tcp::CreateDevice);
        return dladdr(symbol, &info) != 0 && info.dli_fname != nullptr ? std::string(info.dli_fname) : std::string();
    }();
    return path.c_str();
}

VL_GLOO_API const char* vl_gloo_search_order_path(void) {
    // The file the default search order resolves a gloo:: symbol to, looked up from this library: the global scope
    // first, then this library's load group, which libgloo.so.0 shares. libgloo.so.0 is not linked -Bsymbolic, so its
    // calls into itself resolve the same way: this must be libgloo.so.0, not a Gloo in the global scope (libtorch_cpu.so
    // loaded RTLD_GLOBAL would be one).
    static std::string path = [] {
        Dl_info info{};
        void* symbol = dlsym(RTLD_DEFAULT, "_ZN4gloo9transport3tcp12CreateDeviceERKNS1_4attrE");
        return symbol != nullptr && dladdr(symbol, &info) != 0 && info.dli_fname != nullptr ? std::string(info.dli_fname)
                                                                                            : std::string();
    }();
    return path.c_str();
}

VL_GLOO_API void vl_gloo_sink_put(vl_gloo_sink* sink, const uint8_t* value, size_t length) {
    auto* target = reinterpret_cast<std::vector<char>*>(sink);
    target->assign(reinterpret_cast<const char*>(value), reinterpret_cast<const char*>(value) + length);
}

VL_GLOO_API int vl_gloo_connect(int rank, int size, const char* hostname, const char* iface, int64_t join_timeout_ms,
                                int64_t collective_timeout_ms, vl_gloo_store_set_fn set, vl_gloo_store_get_fn get,
                                void* store_state, vl_gloo_context** out) {
    *out = nullptr;
    return guarded([&] {
        if (rank < 0 || size < 1 || rank >= size) {
            throw std::invalid_argument("rank " + std::to_string(rank) + " is outside a world of size " +
                                        std::to_string(size));
        }
        if (join_timeout_ms <= 0 || collective_timeout_ms <= 0) {
            throw std::invalid_argument("the join and collective timeouts must be positive");
        }
        gloo::transport::tcp::attr attr;
        if (iface != nullptr && iface[0] != '\0') {
            attr.iface = iface;
        } else {
            attr.hostname = hostname != nullptr && hostname[0] != '\0' ? hostname : "127.0.0.1";
        }
        auto context = std::make_unique<vl_gloo_context>();
        context->device = gloo::transport::tcp::CreateDevice(attr);
        context->gloo = std::make_shared<gloo::rendezvous::Context>(rank, size);
        context->gloo->setTimeout(std::chrono::milliseconds(join_timeout_ms));
        CallbackStore store(set, get, store_state, std::chrono::milliseconds(join_timeout_ms));
        context->gloo->connectFullMesh(store, context->device);
        context->timeout = std::chrono::milliseconds(collective_timeout_ms);
        context->gloo->setTimeout(context->timeout);
        *out = context.release();
    });
}

VL_GLOO_API int vl_gloo_allreduce_sum(vl_gloo_context* context, int dtype, void* data, size_t count) {
    return guarded([&] {
        switch (dtype) {
            case VL_GLOO_FLOAT32: allreduce_sum<float>(context->gloo, data, count, context->timeout); break;
            case VL_GLOO_FLOAT64: allreduce_sum<double>(context->gloo, data, count, context->timeout); break;
            case VL_GLOO_INT32: allreduce_sum<int32_t>(context->gloo, data, count, context->timeout); break;
            case VL_GLOO_INT64: allreduce_sum<int64_t>(context->gloo, data, count, context->timeout); break;
            default: throw std::invalid_argument("unknown vl_gloo_dtype " + std::to_string(dtype));
        }
    });
}

VL_GLOO_API int vl_gloo_broadcast(vl_gloo_context* context, void* data, size_t bytes, int root) {
    return guarded([&] {
        gloo::BroadcastOptions options(context->gloo);
        options.setOutput<uint8_t>(static_cast<uint8_t*>(data), bytes);
        options.setRoot(root);
        options.setTimeout(context->timeout);
        gloo::broadcast(options);
    });
}

VL_GLOO_API int vl_gloo_allgatherv(vl_gloo_context* context, const void* input, size_t input_bytes, void* output,
                                   const uint64_t* bytes_per_rank) {
    return guarded([&] {
        gloo::AllgathervOptions options(context->gloo);
        options.setInput<uint8_t>(static_cast<uint8_t*>(const_cast<void*>(input)), input_bytes);
        options.setOutput<uint8_t>(static_cast<uint8_t*>(output),
                                   std::vector<size_t>(bytes_per_rank, bytes_per_rank + context->gloo->size));
        options.setTimeout(context->timeout);
        gloo::allgatherv(options);
    });
}

VL_GLOO_API int vl_gloo_barrier(vl_gloo_context* context) {
    return guarded([&] {
        gloo::BarrierOptions options(context->gloo);
        options.setTimeout(context->timeout);
        gloo::barrier(options);
    });
}

VL_GLOO_API void vl_gloo_abort(vl_gloo_context* context) {
    guarded([&] {
        const auto signal = PairAccess::signalMember();
        for (int peer = 0; peer < context->gloo->size; peer++) {
            auto& pair = context->gloo->getPair(peer);
            if (!pair) {
                continue;
            }
            if (auto* tcp = dynamic_cast<gloo::transport::tcp::Pair*>(pair.get())) {
                (tcp->*signal)("the collectives group was aborted on this rank");
            }
            pair->close();
        }
    });
}

VL_GLOO_API void vl_gloo_destroy(vl_gloo_context* context) {
    guarded([&] {
        if (context != nullptr) {
            context->gloo->closeConnections();
        }
    });
    delete context;
}
