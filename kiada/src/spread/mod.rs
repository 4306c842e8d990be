//! `GET /spread`: one backend called many times, to see which pods its Service sends
//! the calls to, shown as text, HTML or JSON.
//!
//! - [`route`]: the handler and its query (`service`, `n`, `reuse`).
//! - [`calls`]: the calls themselves, bounded in number, time and views at once, and
//!   their summary ([`kiada_wire::Spread`]).
//! - [`view`]: the summary laid out for `templates/spread.txt` and `spread.html`
//!   (`assets/spread.js` draws the HTML view's refreshes).

mod calls;
mod route;
mod view;

pub use calls::Spreads;
pub use route::spread;
