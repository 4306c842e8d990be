//! The body of `POST /questions/{id}/answers`: any bytes parse or give a 4xx error.
#![no_main]
use actix_web::ResponseError;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Err(error) = quiz::routes::parse_answer(body) {
        assert!(error.status_code().is_client_error());
    }
});
