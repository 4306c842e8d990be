//! The page's values laid out for the templates (`templates/page.txt` for the text
//! page, `templates/index.html` for the HTML page): each backend's part as a value or
//! an error, so a template needs only `if let`.

use askama::Template;
use kiada_wire::{Page, Question, RequestInfo, ServedBy};

/// What both templates show.
pub struct PageView<'a> {
    pub version: &'a str,
    pub color: &'a str,
    pub tip: Option<&'a str>,
    pub tip_error: Option<&'a str>,
    pub question: Option<&'a Question>,
    pub question_error: Option<&'a str>,
    pub request: &'a RequestInfo,
    pub served_by: String,
    pub status_message: Option<&'a str>,
}

impl<'a> PageView<'a> {
    pub fn of(page: &'a Page) -> Self {
        Self {
            version: &page.version,
            color: &page.color,
            tip: page.tip.value().map(|tip| tip.text.as_str()),
            tip_error: page.tip.error(),
            question: page.question.value(),
            question_error: page.question.error(),
            request: &page.request,
            served_by: served_by_line(page),
            status_message: page.status_message.as_deref(),
        }
    }
}

/// The line naming the quote and quiz pods (and nodes) that served this page.
fn served_by_line(page: &Page) -> String {
    let describe = |part: Option<&ServedBy>, what: &str, service: &str| match part {
        Some(by) => format!(
            "{what} from {service} pod \"{}\" on node \"{}\"",
            by.pod, by.node
        ),
        None => format!("no {what} ({service} failed)"),
    };
    format!(
        "Served by: {}; {}.",
        describe(page.tip.served_by(), "tip", "quote"),
        describe(page.question.served_by(), "question", "quiz"),
    )
}

/// The plain-text page (`templates/page.txt`).
pub fn render_text(page: &Page) -> String {
    TextPage(PageView::of(page))
        .render()
        // Rendering writes into a String and every value is a plain string: it cannot
        // fail, but a page must never be lost to a panic.
        .unwrap_or_else(|error| format!("ERROR: the text page could not be rendered: {error}\n"))
}

/// The plain-text page, laid out line for line like the chapter's (plus our title
/// line at the top and the served-by line below the request info). Not escaped: the
/// values were cleaned of control characters when the page was gathered.
#[derive(Template)]
#[template(path = "page.txt")]
pub struct TextPage<'a>(pub PageView<'a>);

/// The HTML page. askama escapes every value; the script only ever sets `textContent`.
#[derive(Template)]
#[template(path = "index.html")]
pub struct HtmlPage<'a>(pub PageView<'a>);

/// Lets a template read its view's fields as if they were its own (askama looks them
/// up on the template). The derive stays outside the macro: askama versions differ in
/// where they look for a template named inside a macro (the fuzz build's did not find
/// `templates/`).
macro_rules! reads_view {
    ($template:ident, $view:ident) => {
        impl<'a> std::ops::Deref for $template<'a> {
            type Target = $view<'a>;
            fn deref(&self) -> &$view<'a> {
                &self.0
            }
        }
    };
}
pub(crate) use reads_view;

reads_view!(TextPage, PageView);
reads_view!(HtmlPage, PageView);
