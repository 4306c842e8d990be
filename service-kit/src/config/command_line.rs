//! One declaration per setting. A service declares its settings as one struct that
//! derives `clap::Parser` and `serde::Deserialize`; each field is a setting:
//!
//! - its **variable** is the field's name in upper case (envy reads it),
//! - its **flag** is clap's `long` (the field's name in kebab case unless renamed),
//! - its **default** is clap's `default_value`/`default_value_t`,
//! - its **help line** is the field's doc comment.
//!
//! [`CommandLine<S>`] is the service's `Args`: it adds the shared [`CommonSettings`], tags
//! every help line with `[env: VARIABLE]`, and keeps which flags were given. Loading lays
//! the flags over the environment over the defaults, as raw strings, and lets envy fill
//! the structs from that one list, so a flag wins over its variable and an empty variable
//! counts as unset.

use std::marker::PhantomData;

use clap::parser::ValueSource;
use clap::{ArgMatches, Command, CommandFactory, FromArgMatches};
use serde::de::DeserializeOwned;

use super::{CommonSettings, ConfigError, ServerSettings};
use crate::PodInfo;

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    Default,
    /// Neither given nor defaulted.
    Unset,
}

/// One declared setting as this command line saw it.
#[derive(Debug, Clone)]
struct Declared {
    variable: String,
    flag: Option<String>,
    default: Option<String>,
}

/// A service's command line: its own settings `S` plus the shared ones. Use it as the
/// service's `Args` (`Args::parse()`), then [`CommandLine::load`] with the environment.
#[derive(Debug, Clone)]
pub struct CommandLine<S> {
    declared: Vec<Declared>,
    marker: PhantomData<fn() -> S>,
}

/// The settings after loading: the shared ones resolved, the service's own as declared.
#[derive(Debug, Clone)]
pub struct Resolved<S> {
    pub server: ServerSettings,
    pub pod: PodInfo,
    pub own: S,
    sources: Vec<(String, Source)>,
}

impl<S> Resolved<S> {
    /// Where the setting read from `variable` came from.
    pub fn source(&self, variable: &str) -> Source {
        self.sources
            .iter()
            .find(|(name, _)| name == variable)
            .map_or(Source::Unset, |(_, source)| *source)
    }
}

/// The variable a clap argument stands for: its id (the field name) in upper case.
fn variable(arg: &clap::Arg) -> Option<String> {
    let id = arg.get_id().as_str();
    (!matches!(id, "help" | "version")).then(|| id.to_uppercase())
}

impl<S: CommandFactory> CommandFactory for CommandLine<S> {
    fn command() -> Command {
        CommonSettings::augment(S::command()).mut_args(|arg| match variable(&arg) {
            Some(name) => {
                let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
                arg.help(format!("{help} [env: {name}]"))
            }
            None => arg,
        })
    }

    fn command_for_update() -> Command {
        Self::command()
    }
}

impl<S: CommandFactory> FromArgMatches for CommandLine<S> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let command = Self::command();
        let declared = command
            .get_arguments()
            .filter_map(|arg| {
                let variable = variable(arg)?;
                let id = arg.get_id().as_str();
                let flag = (matches.value_source(id) == Some(ValueSource::CommandLine))
                    .then(|| matches.get_raw(id))
                    .flatten()
                    .map(|values| {
                        let values: Vec<_> = values.map(|v| v.to_string_lossy()).collect();
                        values.join(",")
                    });
                let default = arg
                    .get_default_values()
                    .first()
                    .map(|value| value.to_string_lossy().into_owned());
                Some(Declared {
                    variable,
                    flag,
                    default,
                })
            })
            .collect();
        Ok(Self {
            declared,
            marker: PhantomData,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl<S: CommandFactory> clap::Parser for CommandLine<S> {}

impl<S: DeserializeOwned> CommandLine<S> {
    /// Flags over `vars` over the defaults; empty values count as unset. A bad value is
    /// reported with the variable's name.
    pub fn load(&self, vars: &[(String, String)]) -> Result<Resolved<S>, ConfigError> {
        let mut given = Vec::new();
        let mut defaults = Vec::new();
        let mut sources = Vec::new();
        for setting in &self.declared {
            let env = vars
                .iter()
                .find(|(name, value)| *name == setting.variable && !value.is_empty())
                .map(|(_, value)| value.clone());
            let flag = setting.flag.clone().filter(|value| !value.is_empty());
            if let Some(default) = &setting.default {
                defaults.push((setting.variable.clone(), default.clone()));
            }
            let source = match (flag, env, &setting.default) {
                (Some(value), _, _) => {
                    given.push((setting.variable.clone(), value));
                    Source::Flag
                }
                (None, Some(value), _) => {
                    given.push((setting.variable.clone(), value));
                    Source::Env
                }
                (None, None, Some(_)) => Source::Default,
                (None, None, None) => Source::Unset,
            };
            sources.push((setting.variable.clone(), source));
        }
        let common: CommonSettings = deserialize(&defaults, &given)?;
        Ok(Resolved {
            server: ServerSettings::resolve(&common)?,
            pod: common.pod_info(),
            own: deserialize(&defaults, &given)?,
            sources,
        })
    }
}

/// Deserializes `T` from `given` laid over `defaults` (by variable name). envy does not always say which
/// variable was wrong (an unknown enum value, for one); on that error path each given
/// value is left out in turn (its default showing through) to find it.
pub(super) fn deserialize<T: DeserializeOwned>(
    defaults: &[(String, String)],
    given: &[(String, String)],
) -> Result<T, ConfigError> {
    let layered = |skip: Option<&str>| {
        let kept: Vec<&(String, String)> = given
            .iter()
            .filter(|(name, _)| Some(name.as_str()) != skip)
            .collect();
        let under = defaults
            .iter()
            .filter(|(name, _)| !kept.iter().any(|(k, _)| k == name));
        let layered: Vec<(String, String)> = under.chain(kept.iter().copied()).cloned().collect();
        envy::from_iter::<_, T>(layered)
    };
    layered(None).map_err(|error| {
        let reason = error.to_string();
        let culprit = given.iter().find(|(name, _)| layered(Some(name)).is_ok());
        match culprit {
            Some((name, value)) if !reason.contains(name.as_str()) => ConfigError::EnvVar {
                name: name.clone(),
                value: value.chars().take(100).collect(),
                reason,
            },
            _ => ConfigError::Env { reason },
        }
    })
}
