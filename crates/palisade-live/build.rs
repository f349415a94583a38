//! Generates the Hubble observer client and server (tonic + prost) from `proto/`, compiling
//! the .proto files with protox (pure Rust, so no `protoc` is needed).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/observer/observer.proto", "proto/flow/flow.proto"];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
