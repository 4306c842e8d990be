//! The page's values laid out for the templates (`templates/page.txt` for the text
//! page, `templates/index.html` for the HTML page): each backend's part as a value or
//! an error, so a template needs only `if let`.

use askama::Template;
use kiada_wire::Question;

use crate::page::{Page, Part, RequestInfo};

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
        let (tip, tip_error) = match &page.tip {
            Part::Ok { value, .. } => (Some(value.text.as_str()), None),
            Part::Failed { error } => (None, Some(error.as_str())),
        };
        let (question, question_error) = match &page.question {
            Part::Ok { value, .. } => (Some(value), None),
            Part::Failed { error } => (None, Some(error.as_str())),
        };
        Self {
            version: page.version,
            color: page.color,
            tip,
            tip_error,
            question,
            question_error,
            request: &page.request,
            served_by: page.served_by_line(),
            status_message: page.status_message.as_deref(),
        }
    }
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
/// up on the template).
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
