{
  # Builds the libtorch addon. LIBTORCH (an unpacked libtorch distribution, e.g. a CUDA build)
  # takes precedence; otherwise Debian's libtorch-dev layout under /usr is used.
  "variables": {
    "libtorch%": "<!(node -p \"process.env.LIBTORCH || ''\")"
  },
  "targets": [
    {
      "target_name": "perceptual_native",
      "sources": ["addon.cc", "tensor.cc", "ops.cc", "runtime.cc", "optim.cc", "distributed.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      # NODE_ADDON_API_CPP_EXCEPTIONS_ALL: a backstop only — every entry point converts C++
      # exceptions itself, with the operation and shapes in the message (native/common.h guarded()).
      "defines": ["NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=c++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "conditions": [
        ["libtorch==''", {
          "include_dirs": ["/usr/include", "/usr/include/torch/csrc/api/include"],
          "libraries": ["-ltorch", "-ltorch_cpu", "-lc10"]
        }, {
          "include_dirs": ["<(libtorch)/include", "<(libtorch)/include/torch/csrc/api/include"],
          "libraries": ["-L<(libtorch)/lib", "-Wl,-rpath,<(libtorch)/lib", "-Wl,--no-as-needed", "-ltorch", "-ltorch_cpu", "-lc10", "-Wl,--as-needed"]
        }]
      ]
    }
  ]
}
