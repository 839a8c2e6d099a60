//! `enishi user`: console users from the command line (the first owner of a new workspace,
//! and password resets).

use crate::BadInput;
use anyhow::Result;
use clap::Subcommand;
use enishi_core::{Language, Role};
use enishi_store::repo::users::{self, UserError};
use enishi_store::Store;
use std::io::BufRead;

/// User commands.
#[derive(Subcommand)]
pub enum UserWhat {
    /// Add a user. The password is read from standard input with --password-stdin, else one
    /// is generated and printed as the last line.
    Create {
        /// Sign-in email.
        #[arg(long)]
        email: String,
        /// admin, marketer or staff.
        #[arg(long)]
        role: String,
        /// Name shown in the console (default: the email's local part).
        #[arg(long, default_value = "")]
        name: String,
        /// Console language: en or ja.
        #[arg(long, default_value = "en")]
        language: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password for a user (signing them out everywhere); same password rules as
    /// `create`.
    Password {
        /// Sign-in email.
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the users.
    List,
}

fn password(from_stdin: bool) -> Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok((line.trim_end_matches(['\r', '\n']).to_string(), false))
    } else {
        Ok((users::generate_password(), true))
    }
}

fn bad(e: UserError) -> anyhow::Error {
    match e {
        UserError::Store(s) => s.into(),
        other => BadInput(other.to_string()).into(),
    }
}

/// Runs a user command.
pub fn run(store: &Store, what: UserWhat) -> Result<()> {
    match what {
        UserWhat::Create { email, role, name, language, password_stdin } => {
            let role: Role = role.parse().map_err(|e: enishi_core::ParseError| BadInput(format!("--role: {e}")))?;
            let language: Language =
                language.parse().map_err(|e: enishi_core::ParseError| BadInput(format!("--language: {e}")))?;
            let (pw, generated) = password(password_stdin)?;
            let id = store.write(|c| users::create(c, &email, &name, role, language, &pw)).map_err(bad)?;
            eprintln!("created user {id}: {} ({role})", email.trim().to_lowercase());
            if generated {
                eprintln!("their password (shown once):");
                println!("{pw}");
            }
        }
        UserWhat::Password { email, password_stdin } => {
            let (pw, generated) = password(password_stdin)?;
            let wanted = email.trim().to_lowercase();
            store
                .write(|c| {
                    let user = users::list(c)?.into_iter().find(|u| u.email == wanted);
                    let user = user.ok_or_else(|| UserError::BadEmail(format!("{wanted} (no such user)")))?;
                    users::set_password(c, user.id, &pw, None)
                })
                .map_err(bad)?;
            eprintln!("new password set for {wanted}; their sessions were ended");
            if generated {
                println!("{pw}");
            }
        }
        UserWhat::List => {
            for u in store.read(users::list)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    u.id,
                    u.email,
                    u.role,
                    u.language,
                    if u.disabled_at.is_some() { "disabled" } else { "enabled" }
                );
            }
        }
    }
    Ok(())
}
