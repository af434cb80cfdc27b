//! The `wardwatch` command (see `wardwatch --help`).

fn main() {
    std::process::exit(wardwatch::cli::main());
}
