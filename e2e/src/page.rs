//! kiada's page: its content read from `/json` as the type kiada serves
//! ([`kiada_wire::Page`]), and the layout of its text form, which the chapter prints.

use kiada_wire::Page;

/// The page's path in JSON.
pub const JSON_PATH: &str = "/json";

/// A `/json` body as kiada's page.
pub fn from_json(body: &str) -> Result<Page, String> {
    serde_json::from_str(body.trim()).map_err(|error| {
        let start: String = crate::summary::one_line(body).chars().take(200).collect();
        format!("kiada's {JSON_PATH} is not its page ({error}): {start}")
    })
}

/// The backend failures the page shows, as `quote: ...` and `quiz: ...`.
pub fn backend_errors(page: &Page) -> Vec<String> {
    [("quote", page.tip.error()), ("quiz", page.question.error())]
        .into_iter()
        .filter_map(|(service, error)| error.map(|error| format!("{service}: {error}")))
        .collect()
}

/// The pod and node that the text page's `Request processed by` line names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextLayout {
    pub pod_name: String,
    pub node_name: String,
}

/// Checks that the text page is laid out as the chapter prints it (plus our title line
/// and `Served by:` line): a title, the three sections in order with no `ERROR:` line,
/// at least two numbered answers and the submit line, the request line naming pod and
/// node, the addresses line and the served-by line. Returns what the request line names.
pub fn text_layout(text: &str) -> Result<TextLayout, String> {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let find = |prefix: &str| lines.iter().position(|line| line.starts_with(prefix));
    let after = |prefix: &str| lines.iter().find_map(|line| line.strip_prefix(prefix));
    if lines.first().is_none_or(|title| title.trim().is_empty()) {
        return Err("the text page has no title line".into());
    }
    let mut previous = 0;
    for section in [
        "==== TIP OF THE MINUTE",
        "==== POP QUIZ",
        "==== REQUEST INFO",
    ] {
        let at = find(section).ok_or(format!("the text page has no \"{section}\" section"))?;
        if at < previous {
            return Err(format!("the text page's \"{section}\" is out of order"));
        }
        previous = at;
    }
    if let Some(error) = lines.iter().find(|line| line.starts_with("ERROR:")) {
        return Err(format!("the text page shows {error}"));
    }
    if find("0) ").is_none() || find("1) ").is_none() {
        return Err("the text page lists fewer than two numbered answers".into());
    }
    let submit =
        after("Submit your answer to /question/").ok_or("the text page has no submit line")?;
    let id = submit.split('/').next().unwrap_or_default();
    if id.parse::<u32>().is_err() {
        return Err(format!("the submit line names no question id: {submit:?}"));
    }
    let request = after("Request processed by Kiada ")
        .ok_or("the text page has no \"Request processed by\" line")?;
    let [pod_name, node_name] = quoted_pair(request, " running in pod \"", "\" on node \"").ok_or(
        format!("the request line names no pod and node: {request:?}"),
    )?;
    let addresses = [
        "Pod hostname: ",
        "; Pod IP: ",
        "; Node IP: ",
        "; Client IP: ",
    ];
    if !lines
        .iter()
        .any(|line| addresses.iter().all(|field| line.contains(field)))
    {
        return Err("the text page has no \"Pod hostname: ...; Client IP: ...\" line".into());
    }
    let served_by = after("Served by: ").ok_or("the text page has no \"Served by:\" line")?;
    let (tip, question) = served_by
        .strip_suffix('.')
        .and_then(|line| line.split_once("; "))
        .ok_or(format!(
            "the served-by line is not two parts: {served_by:?}"
        ))?;
    for (part, wording) in [
        (tip, "tip from quote pod \""),
        (question, "question from quiz pod \""),
    ] {
        if quoted_pair(part, wording, "\" on node \"").is_none() {
            return Err(format!(
                "the served-by line's {part:?} does not read {wording}...\" on node \"...\""
            ));
        }
    }
    Ok(TextLayout {
        pod_name,
        node_name,
    })
}

/// `PREFIX"a" MIDDLE "b"` (the quotes inside `prefix` and `middle`) as `[a, b]`: what
/// follows `prefix` up to `middle`, and what follows `middle` up to the next quote.
fn quoted_pair(line: &str, prefix: &str, middle: &str) -> Option<[String; 2]> {
    let start = line.find(prefix)? + prefix.len();
    let (first, rest) = line[start..].split_once(middle)?;
    let (second, _) = rest.split_once('"')?;
    Some([first.to_owned(), second.to_owned()])
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "KUBERNETES IN ACTION DEMO APPLICATION v0.1.0

==== TIP OF THE MINUTE
Use kubectl explain pod.spec to read the docs offline.

==== POP QUIZ
Which object gives a set of pods one stable address?
0) A ConfigMap
1) A Service
2) A Secret

Submit your answer to /question/7/answers/<index of answer> using the POST method.

==== REQUEST INFO
Request processed by Kiada 0.1.0 running in pod \"kiada-001\" on node \"kind-control-plane\".
Pod hostname: kiada-001; Pod IP: 10.244.0.12; Node IP: 172.18.0.2; Client IP: 127.0.0.1
Served by: tip from quote pod \"quote-002\" on node \"kind-control-plane\"; question from quiz pod \"quiz\" on node \"kind-control-plane\".
This is the stable release of Kiada.

HTML version of this content is available at /html
";

    #[test]
    fn the_chapter_s_layout_passes_and_names_pod_and_node() {
        assert_eq!(
            text_layout(TEXT).unwrap(),
            TextLayout {
                pod_name: "kiada-001".into(),
                node_name: "kind-control-plane".into()
            }
        );
    }

    #[test]
    fn each_broken_line_fails_with_what_is_wrong() {
        let broken = |from: &str, to: &str| text_layout(&TEXT.replace(from, to)).unwrap_err();
        for (from, to, expected) in [
            (
                "KUBERNETES IN ACTION DEMO APPLICATION v0.1.0",
                "",
                "no title line",
            ),
            ("==== POP QUIZ", "==== QUIZ", "no \"==== POP QUIZ\" section"),
            (
                "Use kubectl explain",
                "ERROR: quote: refused. Use",
                "shows ERROR: quote",
            ),
            (
                "1) A Service",
                "A Service",
                "fewer than two numbered answers",
            ),
            ("/question/7/", "/question/seven/", "names no question id"),
            ("Submit your answer", "Send your answer", "no submit line"),
            ("running in pod", "in pod", "names no pod and node"),
            ("; Node IP: ", "; Node: ", "no \"Pod hostname"),
            ("Served by:", "Sent by:", "no \"Served by:\" line"),
            (
                "tip from quote pod",
                "tip from quiz pod",
                "does not read tip from quote pod",
            ),
            (
                "question from quiz pod \"quiz\" on node \"kind-control-plane\"",
                "no question (quiz failed)",
                "does not read question from quiz pod",
            ),
        ] {
            let error = broken(from, to);
            assert!(error.contains(expected), "{from} -> {to}: {error}");
        }
        let swapped = TEXT.replace("==== TIP OF THE MINUTE", "==== X").replace(
            "==== REQUEST INFO",
            "==== REQUEST INFO\n==== TIP OF THE MINUTE",
        );
        assert!(text_layout(&swapped).unwrap_err().contains("out of order"));
        assert!(text_layout("").is_err());
    }

    #[test]
    fn json_pages_and_their_errors() {
        let json = r##"{"version":"0.1.0","color":"#1f6feb","tip":{"error":"refused"},"question":{"id":7,"text":"Q?","answers":["a","b"],"servedBy":{"pod":"quiz","node":"n1"}},"request":{"podName":"kiada-001","nodeName":"n1","podIp":"10.0.0.2","nodeIp":"172.18.0.2","hostname":"kiada-001","clientIp":"127.0.0.1","forwardedFor":null,"requestId":"r1"},"statusMessage":null}"##;
        let page = from_json(json).unwrap();
        assert_eq!(backend_errors(&page), ["quote: refused"]);
        assert_eq!(page.question.value().map(|q| q.id), Some(7));
        let error = from_json("<html>").unwrap_err();
        assert!(
            error.contains("is not its page") && error.contains("<html>"),
            "{error}"
        );
    }
}
