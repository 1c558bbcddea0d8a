fn main() -> std::process::ExitCode {
    kubectl_intel::cli::main()
}
