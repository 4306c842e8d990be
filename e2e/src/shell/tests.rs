use super::*;

#[test]
fn tallies_request_loops() {
    let output = format!(
        "This is the quote service running in pod quote-001 on node n\nThis is the quote service running in pod quote-002 on node n\n{NO_ANSWER}\nThis is the quote service running in pod quote-001 on node n\n<html>oops\n\n"
    );
    let quiz = tally_quiz_lines(&format!(
        "This is the quiz service running in pod quiz\nThis is the quiz service running in pod quiz-canary\n{NO_ANSWER}\n"
    ));
    assert_eq!(quiz.pods["quiz"], 1);
    assert_eq!(quiz.pods["quiz-canary"], 1);
    assert_eq!(quiz.no_answer, 1);
    let tally = tally_quote_lines(&output);
    assert_eq!(tally.pods.len(), 2);
    assert_eq!(tally.pods["quote-001"], 2);
    assert_eq!(tally.answered(), 3);
    assert_eq!(tally.no_answer, 1);
    assert_eq!(tally.unexpected, ["<html>oops"]);
    let text = tally.describe();
    assert!(
        text.contains("quote-001×2") && text.contains("1 without answer"),
        "{text}"
    );
}

#[test]
fn nslookup_new_format() {
    let output = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nName:\tquiz.e2e.svc.cluster.local\nAddress: 10.96.23.4\n\n*** Can't find quiz.e2e.svc.cluster.local: No answer\n\n";
    assert_eq!(nslookup_addresses(output), ["10.96.23.4"]);
}

#[test]
fn nslookup_with_search_domains() {
    // busybox 1.35 for a dotless name: every search domain, A and AAAA.
    let output = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nNon-authoritative answer:\nName:\tquiz.ns1.svc.cluster.local\nAddress: 10.96.7.7\n\n** server can't find quiz.svc.cluster.local: NXDOMAIN\n\n** server can't find quiz.cluster.local: NXDOMAIN\n\n** server can't find quiz.ns1.svc.cluster.local: NXDOMAIN\n";
    assert_eq!(nslookup_addresses(output), ["10.96.7.7"]);
}

#[test]
fn nslookup_old_format_and_failures() {
    let old = "Server:    10.96.0.10\nAddress 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local\n\nName:      quiz\nAddress 1: 10.96.23.4 quiz.e2e.svc.cluster.local\n";
    assert_eq!(nslookup_addresses(old), ["10.96.23.4"]);
    let failed = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n** server can't find quiz.nowhere: NXDOMAIN\n";
    assert!(nslookup_addresses(failed).is_empty());
    let v6 = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nName:\tq\nAddress: fd00:10:96::a\nName:\tq\nAddress: 10.96.0.7\n";
    assert_eq!(nslookup_addresses(v6), ["fd00:10:96::a", "10.96.0.7"]);
}

#[test]
fn wget_connect_lines() {
    let out = "Connecting to quiz.ns1:8099 (10.96.7.7:8099)\nwriting to stdout\n-    100% |****|    99  0:00:00 ETA\nwritten to stdout\n";
    assert_eq!(wget_connect_ip(out).as_deref(), Some("10.96.7.7"));
    assert_eq!(
        wget_connect_ip("Connecting to quiz (10.96.0.12:80)\n").as_deref(),
        Some("10.96.0.12")
    );
    assert_eq!(
        wget_connect_ip("Connecting to q ([fd00::a]:80)\n").as_deref(),
        Some("fd00::a")
    );
    assert_eq!(wget_connect_ip("wget: bad address 'quiz.nowhere'\n"), None);
    // A `)` before the `(` is no address (and no panic).
    assert_eq!(wget_connect_ip("Connecting to q) (\n"), None);
}

#[test]
fn load_loop_script() {
    let script = load_loop("http://kiada/text", 30, 2000, 3, 20);
    assert_eq!(
        script,
        "end=$(($(date +%s) + 30)); i=0; while [ $i -lt 2000 ] && [ $(date +%s) -lt $end ]; do \
         curl -s --max-time 5 -H 'Connection: close' -w 'E2E-LOAD %{http_code} %header{x-pod-name}\\n' \
         -o /dev/null 'http://kiada/text' -o /dev/null 'http://kiada/text' -o /dev/null 'http://kiada/text' 2>/dev/null; \
         i=$((i+3)); usleep 20000; done; echo \"E2E-LOAD-END $i\""
    );
    // At least one request a round.
    assert!(load_loop("http://q/", 1, 1, 0, 0).contains("i=$((i+1))"));
}

#[test]
fn load_lines() {
    assert_eq!(
        load_line("E2E-LOAD 200 kiada-001"),
        LoadLine::Answer(LoadAnswer {
            status: 200,
            pod: Some("kiada-001".into())
        })
    );
    // No HTTP answer: curl writes 000 and no header.
    assert_eq!(
        load_line("E2E-LOAD 000 "),
        LoadLine::Answer(LoadAnswer {
            status: 0,
            pod: None
        })
    );
    assert_eq!(load_line("E2E-LOAD-END 412"), LoadLine::End(412));
    for other in [
        "E2E-LOAD-END many",
        "E2E-LOAD 20x p",
        "E2E-LOAD 200 a b",
        "curl: (7) refused",
    ] {
        assert_eq!(load_line(other), LoadLine::Other(other.into()));
    }
}

#[test]
fn load_tallies() {
    let mut tally = LoadTally::default();
    assert_eq!(
        tally.describe(),
        "0 requests, by status (0: no answer): none; by pod: none"
    );
    for line in [
        "E2E-LOAD 200 kiada-001",
        "E2E-LOAD 200 kiada-drain",
        "E2E-LOAD 503 kiada-drain",
        "E2E-LOAD 000",
        "E2E-LOAD 200 kiada-001",
    ] {
        let LoadLine::Answer(answer) = load_line(line) else {
            panic!("{line}")
        };
        tally.add(&answer);
    }
    assert_eq!(tally.requests, 5);
    assert_eq!(tally.failed(), 2);
    assert_eq!(tally.served_by("kiada-drain"), 2);
    assert_eq!(tally.served_by("kiada-002"), 0);
    assert_eq!(
        tally.describe(),
        "5 requests, by status (0: no answer): 0×1, 200×3, 503×1; by pod: kiada-001×2, kiada-drain×2"
    );
}

#[test]
fn shell_snippets() {
    assert_eq!(shell_quote("a'b"), r"'a'\''b'");
    let script = request_loop("http://quote/", 3);
    assert!(script.contains("-lt 3"));
    assert!(script.contains("timeout 5 wget -qO- 'http://quote/'"));
    assert!(script.contains(NO_ANSWER));
}

#[test]
fn probe_scripts() {
    assert_eq!(
        wget_get("http://quiz/stats"),
        "timeout 5 wget -qO- 'http://quiz/stats'"
    );
    assert_eq!(
        wget_post_json("http://quiz/questions/3/answers", "{\"a\": 'x'}"),
        "timeout 5 wget -qO- --header 'Content-Type: application/json' --post-data '{\"a\": '\\''x'\\''}' 'http://quiz/questions/3/answers'"
    );
    assert_eq!(
        wget_connect("http://quiz.ns/"),
        "timeout 5 wget -O- 'http://quiz.ns/' 2>&1 >/dev/null || true"
    );
    assert_eq!(nslookup("quiz"), "timeout 10 nslookup 'quiz' 2>&1 || true");
}

#[test]
fn srv_records_and_cnames() {
    let srv = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n_http._tcp.quote-headless.ns.svc.cluster.local\tservice = 0 33 80 10-244-1-5.quote-headless.ns.svc.cluster.local\n_http._tcp.quote-headless.ns.svc.cluster.local\tservice = 0 33 80 10-244-2-7.quote-headless.ns.svc.cluster.local.\n_http._tcp.quote-headless.ns.svc.cluster.local\tservice = 0 33 80 10-244-1-5.quote-headless.ns.svc.cluster.local\nservice = x y z w\n";
    let records = srv_records(srv);
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(
        records[1],
        SrvRecord {
            priority: 0,
            weight: 33,
            port: 80,
            target: "10-244-2-7.quote-headless.ns.svc.cluster.local".into()
        }
    );
    assert!(srv_records("** server can't find x: NXDOMAIN").is_empty());
    let cname = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\ntime-api.ns.svc.cluster.local\tcanonical name = quote.ns.svc.cluster.local\nName:\tquote.ns.svc.cluster.local\nAddress: 10.96.3.4\n\ntime-api.ns.svc.cluster.local\tcanonical name = quote.ns.svc.cluster.local\n";
    assert_eq!(
        nslookup_cnames(cname),
        [(
            "time-api.ns.svc.cluster.local".to_owned(),
            "quote.ns.svc.cluster.local".to_owned()
        )]
    );
    assert_eq!(nslookup_addresses(cname), ["10.96.3.4"]);
    assert!(!nslookup_nxdomain(cname));
    assert!(nslookup_nxdomain(
        "Server:\t\t10.96.0.10\n\n** server can't find q2.quote-headless.ns.svc.cluster.local: NXDOMAIN\n"
    ));
    assert!(
        nslookup_srv("_http._tcp.q.ns.svc.cluster.local")
            .contains("-type=SRV '_http._tcp.q.ns.svc.cluster.local'")
    );
}

#[test]
fn curl_loops_count_answers_and_exit_statuses() {
    let script = curl_loop("http://quote-local/", 12, 3);
    assert!(
        script.contains("--max-time 3 'http://quote-local/'"),
        "{script}"
    );
    assert!(script.contains("$i -lt 12"), "{script}");
    let read = CurlLoop::read(&format!(
        "This is the quote service running in pod quote-001 on node w1\n{CURL_FAILED} 28\n{CURL_FAILED} 28\n{CURL_FAILED} 7\n\n"
    ));
    assert_eq!(read.answers.len(), 1);
    assert_eq!(read.failures, BTreeMap::from([(28, 2), (7, 1)]));
    assert_eq!(read.failed(), 3);
    assert_eq!(read.describe(), "1 answered, 3 failed (exit 7×1, 28×2)");
}
