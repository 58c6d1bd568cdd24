//! The command lines of the benches and chaos runs: `--name value` options and bare switches,
//! read one at a time, so every task answers a missing or unreadable value the same way.

use std::str::FromStr;

use anyhow::Context as _;

/// A command line, read option by option.
pub(crate) struct Flags<'a> {
    args: std::slice::Iter<'a, String>,
    /// The option last read, which names a missing or unreadable value.
    current: &'a str,
}

impl<'a> Flags<'a> {
    pub(crate) fn new(args: &'a [String]) -> Self {
        Self {
            args: args.iter(),
            current: "",
        }
    }

    /// The next option's name, while any is left.
    pub(crate) fn option(&mut self) -> Option<&'a str> {
        let arg = self.args.next()?;
        self.current = arg;
        Some(arg)
    }

    /// The value of the option last read, as given: `--name needs a value` when there is none.
    pub(crate) fn value(&mut self) -> anyhow::Result<&'a String> {
        let name = self.current;
        self.args
            .next()
            .with_context(|| format!("{name} needs a value"))
    }

    /// The value of the option last read, parsed; the error names the option.
    pub(crate) fn parse<T>(&mut self) -> anyhow::Result<T>
    where
        T: FromStr,
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        let name = self.current;
        self.value()?.parse().with_context(|| name.to_owned())
    }
}

/// A closed-loop load: how long and how many concurrent clients (`--seconds N`, default 10;
/// `--clients N`, default 64), the options of every benchmark that only loads.
pub(crate) struct Load {
    pub(crate) seconds: u64,
    pub(crate) clients: usize,
}

impl Load {
    /// Reads `--seconds` and `--clients`; any other option is an error.
    pub(crate) fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut load = Self {
            seconds: 10,
            clients: 64,
        };
        let mut flags = Flags::new(args);
        while let Some(flag) = flags.option() {
            match flag {
                "--seconds" => load.seconds = flags.parse()?,
                "--clients" => load.clients = flags.parse()?,
                other => anyhow::bail!("unknown option {other}; use --seconds N --clients N"),
            }
        }
        Ok(load)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(line: &[&str]) -> anyhow::Result<(u64, bool)> {
        let args: Vec<String> = line.iter().map(|&arg| arg.to_owned()).collect();
        let (mut seconds, mut pin) = (0, false);
        let mut flags = Flags::new(&args);
        while let Some(flag) = flags.option() {
            match flag {
                "--seconds" => seconds = flags.parse()?,
                "--pin" => pin = true,
                other => anyhow::bail!("unknown option {other}"),
            }
        }
        Ok((seconds, pin))
    }

    #[test]
    fn options_values_and_switches() {
        assert_eq!(read(&["--pin", "--seconds", "5"]).unwrap(), (5, true));
        assert_eq!(
            read(&["--seconds"]).unwrap_err().to_string(),
            "--seconds needs a value"
        );
        assert_eq!(
            read(&["--seconds", "x"]).unwrap_err().to_string(),
            "--seconds"
        );
        assert_eq!(
            read(&["--x"]).unwrap_err().to_string(),
            "unknown option --x"
        );
    }
}
