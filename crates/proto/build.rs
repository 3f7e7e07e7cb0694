//! Compiles `proto/` with protox (pure Rust, no system `protoc`) and generates prost messages and
//! tonic clients/servers. The encoded descriptor set is kept for gRPC reflection.

use std::{env, fs, io, path::PathBuf};

use prost::Message;

fn main() -> io::Result<()> {
    // Read when the script runs, not baked in when it was compiled: a build directory shared by
    // two checkouts would otherwise compile the other checkout's (perhaps deleted) contracts.
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(io::Error::other)?).join("../../proto");
    let files = proto_files(&root.join("floodgate"))?;
    println!("cargo:rerun-if-changed={}", root.display());

    let fds = protox::compile(&files, [&root]).map_err(io::Error::other)?;
    let out_dir = PathBuf::from(env::var("OUT_DIR").map_err(io::Error::other)?);
    fs::write(out_dir.join("floodgate_descriptor.bin"), fds.encode_to_vec())?;

    tonic_prost_build::configure()
        .emit_rerun_if_changed(false)
        // Services grow method by method across issues; a method not implemented yet answers
        // UNIMPLEMENTED instead of every implementation carrying a placeholder.
        .generate_default_stubs(true)
        // Pre-encoded payloads served from cache: cloning `Bytes` is a reference count, not a copy.
        .bytes(".floodgate.catalog.v1.PerformanceSeatMap.compact_seat_map")
        .compile_fds(fds)
}

/// Every `.proto` under `dir`, sorted so the generated code is deterministic.
fn proto_files(dir: &std::path::Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            found.extend(proto_files(&path)?);
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}
