//! Reading the process environment without panicking on bytes that are not UTF-8.

/// The process environment as text. `std::env::vars` panics on a variable that is not
/// valid UTF-8, and any variable of a pod could be: here such a name or value is
/// converted lossily instead (bytes that are not UTF-8 become U+FFFD), so a setting of
/// ours with such a value fails to parse with an error that names the variable, and
/// any other variable is simply never read.
pub fn process_environment() -> Vec<(String, String)> {
    std::env::vars_os()
        .map(|(name, value)| {
            (
                name.to_string_lossy().into_owned(),
                value.to_string_lossy().into_owned(),
            )
        })
        .collect()
}
