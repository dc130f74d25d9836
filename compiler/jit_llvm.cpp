// jit_llvm.cpp — see jit_llvm.h. The only C++ in dlnc, built with LLVM=1.
//
// The generated source and its two headers are served from an in-memory
// file system laid over the real one, so the system headers (<math.h>,
// clang's <omp.h>) come from disk but the model comes from dlnc's memory:
// nothing on disk can stand in for the source being compiled.
//
// clang's driver turns an ordinary command line (-O3 -march=native
// -fno-math-errno -fopenmp=libomp, the flags the cc path uses) into the
// compiler's own options, so the host CPU and the header search paths are
// found the way `clang` finds them. EmitLLVMOnlyAction runs the -O3
// pipeline and keeps the module; the host's target machine turns it into a
// relocatable object in memory (which jit.c keeps in the verified cache),
// and LLJIT links that object into dlnc's memory.
//
// Symbols the module does not define (dl_*, libm, __kmpc_* of OpenMP)
// resolve against dlnc's own process: dlnc exports the runtime
// (-rdynamic), and the LLVM build links libomp, whose GOMP_* entry points
// also serve the runtime's gcc-compiled OpenMP — one thread pool, not two.
#include "jit_llvm.h"

#include <clang/Basic/Diagnostic.h>
#include <clang/Basic/DiagnosticOptions.h>
#include <clang/CodeGen/CodeGenAction.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/CompilerInvocation.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <clang/Frontend/Utils.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Host.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/VirtualFileSystem.h>
#include <llvm/Support/raw_ostream.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>

extern "C" const char dlnrt_header_text[]; // runtime/dlnrt.h, embedded at build time

struct jit_llvm {
    std::unique_ptr<llvm::orc::LLJIT> jit;
};

// A directory that names no file on disk; the in-memory layer answers for
// it first in any case.
static const char kDir[] = "/dlnc-jit-memory";

static double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// dlnc's CPU time: only the compiling thread runs meanwhile, so its delta
// is the compile's CPU, comparable with the cc path's rusage on a loaded
// machine where wall times are not.
static double cpu_seconds() {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void report(llvm::Error e, const char *what) {
    std::string msg = llvm::toString(std::move(e));
    std::fprintf(stderr, "dlnc: error: LLVM JIT: %s: %s\n", what, msg.c_str());
}

static llvm::IntrusiveRefCntPtr<llvm::vfs::FileSystem> model_files(const char *c_text, size_t c_len,
                                                                    const char *h_text, size_t h_len,
                                                                    const char *header_name) {
    auto mem = llvm::makeIntrusiveRefCnt<llvm::vfs::InMemoryFileSystem>();
    auto add = [&](const std::string &name, llvm::StringRef text) {
        mem->addFile(std::string(kDir) + "/" + name, 0, llvm::MemoryBuffer::getMemBufferCopy(text, name));
    };
    add("model.c", llvm::StringRef(c_text, c_len));
    add(header_name, llvm::StringRef(h_text, h_len));
    add("dlnrt.h", dlnrt_header_text);
    auto overlay = llvm::makeIntrusiveRefCnt<llvm::vfs::OverlayFileSystem>(llvm::vfs::getRealFileSystem());
    overlay->pushOverlay(mem);
    return overlay;
}

// C source → optimized LLVM module in `ctx`, or null after clang's own
// diagnostics (a generated source that does not compile is dlnc's bug).
static std::unique_ptr<llvm::Module> compile(llvm::LLVMContext &ctx,
                                             llvm::IntrusiveRefCntPtr<llvm::vfs::FileSystem> fs) {
    std::string input = std::string(kDir) + "/model.c";
    // argv[0] places clang's resource directory (stddef.h, omp.h).
    const char *args[] = {DLNC_CLANG_PATH, "-c",          "-O3", "-march=native", "-fno-math-errno",
                          "-fopenmp=libomp", "-std=c11", "-w",  input.c_str()};
    auto diag_opts = llvm::makeIntrusiveRefCnt<clang::DiagnosticOptions>();
    auto *printer = new clang::TextDiagnosticPrinter(llvm::errs(), diag_opts.get());
    auto diags = clang::CompilerInstance::createDiagnostics(diag_opts.get(), printer);
    std::shared_ptr<clang::CompilerInvocation> inv =
        clang::createInvocationFromCommandLine(args, diags, fs, false, nullptr);
    if (!inv) {
        std::fprintf(stderr, "dlnc: error: LLVM JIT: clang refused its own command line\n");
        return nullptr;
    }
    clang::CompilerInstance ci;
    ci.setInvocation(inv);
    ci.createDiagnostics(printer, false);
    ci.createFileManager(fs);
    clang::EmitLLVMOnlyAction act(&ctx);
    if (!ci.ExecuteAction(act)) {
        std::fprintf(stderr, "dlnc: error: LLVM JIT: clang could not compile the generated C (a dlnc bug)\n");
        return nullptr;
    }
    return act.takeModule();
}

static llvm::Expected<llvm::orc::JITTargetMachineBuilder> host_machine() {
    auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (jtmb) jtmb->setCodeGenOptLevel(llvm::CodeGenOpt::Aggressive);
    return jtmb;
}

static void init_targets() {
    static bool ready = false;
    if (!ready) {
        llvm::InitializeNativeTarget();
        llvm::InitializeNativeTargetAsmPrinter();
        ready = true;
    }
}

static llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>> make_jit() {
    auto jtmb = host_machine();
    if (!jtmb) return jtmb.takeError();
    auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(*jtmb)).create();
    if (!jit) return jit.takeError();
    auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess((*jit)->getDataLayout().getGlobalPrefix());
    if (!gen) return gen.takeError();
    (*jit)->getMainJITDylib().addGenerator(std::move(*gen));
    return jit;
}

static llvm::Expected<void *> address_of(llvm::orc::LLJIT &jit, const char *name) {
    auto sym = jit.lookup(name);
    if (!sym) return sym.takeError();
    return reinterpret_cast<void *>(static_cast<uintptr_t>(sym->getAddress()));
}

extern "C" int jit_llvm_available(void) { return 1; }

// Everything the object code depends on besides the source: LLVM's version
// and what detectHost() targets (triple, CPU, features).
extern "C" char *jit_llvm_target_id(void) {
    init_targets();
    std::string id = "LLVM " LLVM_VERSION_STRING " ";
    auto jtmb = host_machine();
    if (!jtmb) {
        llvm::consumeError(jtmb.takeError());
        return nullptr;
    }
    id += jtmb->getTargetTriple().str() + " " + jtmb->getCPU() + " " + jtmb->getFeatures().getString();
    return strdup(id.c_str());
}

extern "C" int jit_llvm_compile(const char *c_text, size_t c_len, const char *h_text, size_t h_len,
                                const char *header_name, int verbose, void **obj, size_t *obj_len) {
    init_targets();
    auto t0 = std::chrono::steady_clock::now();
    double cpu0 = cpu_seconds();
    llvm::LLVMContext ctx;
    std::unique_ptr<llvm::Module> mod = compile(ctx, model_files(c_text, c_len, h_text, h_len, header_name));
    if (!mod) return -1;
    double t_compile = seconds_since(t0);
    auto jtmb = host_machine();
    if (!jtmb) {
        report(jtmb.takeError(), "cannot target this host");
        return -1;
    }
    auto tm = jtmb->createTargetMachine();
    if (!tm) {
        report(tm.takeError(), "cannot target this host");
        return -1;
    }
    mod->setDataLayout((*tm)->createDataLayout());
    mod->setTargetTriple(jtmb->getTargetTriple().str());
    llvm::SmallVector<char, 0> bytes;
    llvm::raw_svector_ostream os(bytes);
    llvm::legacy::PassManager pm;
    if ((*tm)->addPassesToEmitFile(pm, os, nullptr, llvm::CGFT_ObjectFile)) {
        std::fprintf(stderr, "dlnc: error: LLVM JIT: this host's target cannot emit object code\n");
        return -1;
    }
    pm.run(*mod);
    if (verbose)
        std::fprintf(stderr, "dlnc: LLVM JIT: clang -O3 %.2f s, code generation %.2f s, CPU %.2f s\n", t_compile,
                     seconds_since(t0) - t_compile, cpu_seconds() - cpu0);
    *obj_len = bytes.size();
    *obj = std::malloc(bytes.size() ? bytes.size() : 1);
    if (!*obj) {
        std::fprintf(stderr, "dlnc: error: LLVM JIT: out of memory\n");
        return -1;
    }
    std::memcpy(*obj, bytes.data(), bytes.size());
    return 0;
}

extern "C" jit_llvm *jit_llvm_load(const void *obj, size_t obj_len, const dl_model_api *(**entry)(void),
                                   const dl_model_api *const **models) {
    init_targets();
    auto jit = make_jit();
    if (!jit) {
        report(jit.takeError(), "cannot create the JIT for this host");
        return nullptr;
    }
    auto buf = llvm::MemoryBuffer::getMemBufferCopy(llvm::StringRef(static_cast<const char *>(obj), obj_len), "model.o");
    if (auto e = (*jit)->addObjectFile(std::move(buf))) {
        report(std::move(e), "cannot add the model's object code");
        return nullptr;
    }
    // Static initializers (none today) would run here.
    if (auto e = (*jit)->initialize((*jit)->getMainJITDylib())) {
        report(std::move(e), "cannot initialize the model");
        return nullptr;
    }
    auto e_addr = address_of(**jit, "dlnc_entry");
    if (!e_addr) {
        report(e_addr.takeError(), "the model has no dlnc_entry");
        return nullptr;
    }
    auto m_addr = address_of(**jit, "dlnc_models");
    if (!m_addr) {
        report(m_addr.takeError(), "the model has no dlnc_models");
        return nullptr;
    }
    *reinterpret_cast<void **>(entry) = *e_addr;
    *models = static_cast<const dl_model_api *const *>(*m_addr);
    auto *j = new jit_llvm;
    j->jit = std::move(*jit);
    return j;
}

extern "C" void jit_llvm_free(jit_llvm *j) { delete j; }
