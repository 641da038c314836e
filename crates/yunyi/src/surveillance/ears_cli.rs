//! `yunyi ears --method c1|c2|c3 [--alpha A] [--baseline 7] [--min-sigma S]`: one daily count
//! per line on stdin, CSV `day,count,upper,alarm` on stdout (day 0-based, `NA` where the
//! method has no value yet), so anyone can set it beside R's
//! `surveillance::earsC(sts, control = list(method = "C1", alpha = …, baseline = …, minSigma = …))`.
//! A line that is not a whole count ≥ 0 stops the run, naming the line: a series with a gap
//! would shift every day after it.

use std::io::{BufRead, Write};

use aberration::{Ears, Method};

/// The command line's settings, checked.
pub fn settings(
    method: &str,
    alpha: Option<f64>,
    baseline: usize,
    min_sigma: f64,
) -> anyhow::Result<Ears> {
    let method = Method::parse(method)
        .ok_or_else(|| anyhow::anyhow!("--method must be c1, c2 or c3, not {method}"))?;
    Ok(Ears {
        method,
        alpha,
        baseline,
        min_sigma,
    })
}

/// Reads the counts from `input` and writes the CSV to `output`.
pub fn run(settings: &Ears, input: impl BufRead, mut output: impl Write) -> anyhow::Result<()> {
    let mut counts = Vec::new();
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        let raw = line.trim();
        if raw.is_empty() {
            continue;
        }
        let count = raw.parse::<u64>().map_err(|_| {
            anyhow::anyhow!("line {}: {raw:?} is not a whole count of 0 or more", n + 1)
        })?;
        counts.push(count as f64);
    }
    let points = aberration::ears(&counts, settings)?;
    writeln!(output, "day,count,upper,alarm")?;
    for (day, (count, p)) in counts.iter().zip(&points).enumerate() {
        let upper = p.upper.map_or_else(|| "NA".to_owned(), |u| u.to_string());
        let alarm = match p.alarm {
            Some(true) => "TRUE",
            Some(false) => "FALSE",
            None => "NA",
        };
        writeln!(output, "{day},{count},{upper},{alarm}")?;
    }
    output.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(method: &str, input: &str) -> anyhow::Result<String> {
        let mut out = Vec::new();
        run(&settings(method, None, 7, 0.0)?, input.as_bytes(), &mut out)?;
        Ok(String::from_utf8(out)?)
    }

    #[test]
    fn prints_na_until_the_baseline_is_full_then_bound_and_alarm() {
        let out = csv("c1", "1\n2\n3\n\n4\n5\n6\n7\n20\n").expect("runs");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "day,count,upper,alarm");
        assert_eq!(lines[1], "0,1,NA,NA");
        assert_eq!(lines.len(), 9, "the blank line is not a day");
        assert!(
            lines[8].starts_with("7,20,10.6756647580388"),
            "{}",
            lines[8]
        );
        assert!(lines[8].ends_with(",TRUE"));
    }

    #[test]
    fn a_bad_line_or_setting_is_named() {
        let e = csv("c1", "3\nthree\n").expect_err("bad input");
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(csv("c1", "-1\n").is_err());
        assert!(settings("c4", None, 7, 0.0).is_err());
        let e = run(
            &settings("c2", None, 2, 0.0).expect("method"),
            "1\n".as_bytes(),
            Vec::new(),
        )
        .expect_err("baseline 2");
        assert!(e.to_string().contains("at least 3"));
    }
}
