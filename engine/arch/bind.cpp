#include "engine/arch/architecture.h"
#include "engine/arch/gpt2.h"
#include "engine/arch/gpt_oss.h"
#include "engine/arch/tensor_parallel.h"
#include "engine/arch/weight.h"
#include "engine/gguf/gguf.h"
#include "silica/error.h"

namespace silica::arch {

std::unique_ptr<Architecture> bind_architecture(const gguf::File& file, ModelParams& params,
                                                const WeightOptions& options,
                                                std::shared_ptr<parallel::Communicator> comm) {
    params.architecture = file.get_string("general.architecture", "");
    params.name = file.get_string("general.name", "");
    if (params.architecture.empty()) throw Error(file.path() + ": missing general.architecture");
    const TensorParallel tp(std::move(comm));
    if (params.architecture == "gpt2") return bind_gpt2(file, params, options, tp);
    if (params.architecture == "gpt-oss") return bind_gpt_oss(file, params, options, tp);
    throw Error(file.path() + ": unsupported architecture '" + params.architecture + "' (supported: gpt2, gpt-oss)");
}

}  // namespace silica::arch
