//! `GET /spread`: one backend called many times, and which pods answered, as text,
//! HTML or JSON (by `Accept`, like the page). Only the configured backends can be
//! called: the query names one (`service=quote|quiz`), never a URL.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use kiada_wire::SpreadMode;
use serde::Deserialize;

use super::calls::{DEFAULT_SPREAD_CALLS, MAX_SPREAD_CALLS, SpreadError, Spreads};
use super::view::{SpreadHtml, SpreadText, SpreadView};
use crate::backends::{CallContext, Service};
use crate::respond::{Wanted, html_response, json_error, text, wanted};
use crate::state::AppState;
use service_kit::clean_line;

/// The query as sent: every value checked by [`SpreadQuery::parse`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuery {
    service: Option<String>,
    n: Option<String>,
    reuse: Option<String>,
}

/// What a view was asked for.
#[derive(Debug, PartialEq, Eq)]
struct SpreadQuery {
    service: Service,
    calls: u32,
    mode: SpreadMode,
}

impl SpreadQuery {
    fn parse(query: &str) -> Result<Self, String> {
        let raw = web::Query::<RawQuery>::from_query(query)
            .map_err(|error| match error {
                actix_web::error::QueryPayloadError::Deserialize(error) => {
                    format!("bad query: {error} (the parameters are service, n and reuse)")
                }
                other => format!("bad query: {other}"),
            })?
            .into_inner();
        let service = one_of(
            "service",
            raw.service.as_deref(),
            &[("quote", Service::Quote), ("quiz", Service::Quiz)],
        )?;
        let calls = match raw.n.as_deref() {
            None => DEFAULT_SPREAD_CALLS,
            Some(n) => n
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_SPREAD_CALLS).contains(n))
                .ok_or_else(|| {
                    format!(
                        "n must be a whole number from 1 to {MAX_SPREAD_CALLS}, not {}",
                        quoted(n)
                    )
                })?,
        };
        let mode = one_of(
            "reuse",
            raw.reuse.as_deref(),
            &[
                ("false", SpreadMode::NewConnection),
                ("true", SpreadMode::Reuse),
            ],
        )?;
        Ok(Self {
            service,
            calls,
            mode,
        })
    }
}

/// A client's value, cut short and quoted, for an error message.
fn quoted(value: &str) -> String {
    format!("{:?}", clean_line(value, 40))
}

/// The value of parameter `name` among `choices` (the first is the default), or why not.
fn one_of<T: Copy>(name: &str, value: Option<&str>, choices: &[(&str, T)]) -> Result<T, String> {
    let Some(value) = value else {
        return Ok(choices[0].1);
    };
    choices
        .iter()
        .find(|(choice, _)| *choice == value)
        .map(|(_, chosen)| *chosen)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(choice, _)| *choice).collect();
            format!(
                "{name} must be {}, not {}",
                names.join(" or "),
                quoted(value)
            )
        })
}

/// `GET /spread[?service=quote|quiz][&n=1..100][&reuse=true]`.
pub async fn spread(
    req: HttpRequest,
    state: web::Data<AppState>,
    spreads: web::Data<Spreads>,
    context: CallContext,
) -> HttpResponse {
    let wanted = wanted(&req);
    let fail = |builder: actix_web::HttpResponseBuilder, message: String| match wanted {
        Wanted::Json => json_error(builder, &message),
        _ => text(builder, format!("ERROR: {message}\n")),
    };
    let query = match SpreadQuery::parse(req.query_string()) {
        Ok(query) => query,
        Err(message) => return fail(HttpResponse::BadRequest(), message),
    };
    let spread = match spreads
        .view(
            &state.backends,
            query.service,
            query.calls,
            query.mode,
            &context,
        )
        .await
    {
        Ok(spread) => spread,
        Err(error @ SpreadError::Busy) => {
            let mut builder = HttpResponse::TooManyRequests();
            builder.insert_header((header::RETRY_AFTER, "1"));
            return fail(builder, error.to_string());
        }
    };
    let view = SpreadView::of(&spread, service_kit::VERSION);
    match wanted {
        Wanted::Json => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(&spread),
        Wanted::Text => text(
            HttpResponse::Ok(),
            SpreadText(view).render().unwrap_or_else(|error| {
                format!("ERROR: the spread view could not be rendered: {error}\n")
            }),
        ),
        Wanted::Html => html_response(SpreadHtml(view).render(), "/spread with curl"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_a_backend_a_count_and_a_mode() {
        let parse = SpreadQuery::parse;
        assert_eq!(
            parse(""),
            Ok(SpreadQuery {
                service: Service::Quote,
                calls: 20,
                mode: SpreadMode::NewConnection
            })
        );
        assert_eq!(
            parse("service=quiz&n=100&reuse=true"),
            Ok(SpreadQuery {
                service: Service::Quiz,
                calls: 100,
                mode: SpreadMode::Reuse
            })
        );
        assert_eq!(
            parse("n=1&reuse=false").map(|q| (q.calls, q.mode)),
            Ok((1, SpreadMode::NewConnection))
        );
        assert_eq!(
            parse("service=http://evil/"),
            Err(r#"service must be quote or quiz, not "http://evil/""#.into())
        );
        for n in ["0", "101", "-1", "2.5", "", "twenty"] {
            assert_eq!(
                parse(&format!("n={n}")),
                Err(format!("n must be a whole number from 1 to 100, not {n:?}"))
            );
        }
        assert_eq!(
            parse("reuse=yes"),
            Err(r#"reuse must be false or true, not "yes""#.into())
        );
        let unknown = parse("url=http://evil/").unwrap_err();
        assert!(
            unknown.starts_with("bad query: unknown field `url`"),
            "{unknown}"
        );
    }
}
