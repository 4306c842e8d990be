//! The quiz service's questions file: any text is either a valid question set or a
//! clear error, never a panic; a valid set keeps its own rules.
#![no_main]
use libfuzzer_sys::fuzz_target;
use quiz::questions::Source;

fuzz_target!(|text: &str| {
    if let Ok(set) = quiz::QuestionSet::from_json(text, Source::File("fuzz.json".into())) {
        assert!(!set.is_empty());
        for question in set.all() {
            let answers = question.public.answers.len();
            assert!((quiz::questions::MIN_ANSWERS..=quiz::questions::MAX_ANSWERS).contains(&answers));
            assert!(question.correct_answer_index < answers);
            assert!(set.get(question.public.id).is_some());
        }
    }
});
