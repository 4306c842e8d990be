service_kit::global_allocator!();

fn main() -> std::process::ExitCode {
    service_kit::run_main::<quiz::Application>()
}
