//! Issue 15: a check block can say "the certificate expires within 30 days" with Terraform's
//! time functions. `now` is a fixed timestamp literal standing in for `plantimestamp()` so the
//! test does not depend on the wall clock; moving it moves the check from pass to fail.

use crate::support::*;

fn stack(now: &str) -> TestStack {
    let main = format!(
        r#"
variable "now" {{
  default = "{now}"
}}

locals {{
  cert_expiry = "2026-12-31T23:59:59+01:00"
}}

resource "terraform_data" "cert" {{
  input = local.cert_expiry
}}

check "certificate_not_expiring" {{
  assert {{
    condition     = timecmp(timeadd(var.now, "720h"), terraform_data.cert.output) < 0
    error_message = "the certificate expires on ${{formatdate("DD MMM YYYY hh:mm ZZZ", terraform_data.cert.output)}}, within 30 days of ${{var.now}}"
  }}
}}
"#
    );
    TestStack::new(&[("main.tf", main.as_str())])
}

#[test]
fn an_expiry_check_passes_and_fails_as_the_time_moves() {
    // 30 days before expiry less a second: passes.
    let s = stack("2026-12-01T22:59:58Z");
    let dir = s.path().to_str().unwrap();
    let o = run_cairn(&["apply", dir, "--auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_cairn(&["check", dir], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));

    // Exactly 30 days before (the offsets differ, the instants are equal): fails.
    let s = stack("2026-12-01T22:59:59Z");
    let dir = s.path().to_str().unwrap();
    let o = run_cairn(&["apply", dir, "--auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_cairn(&["check", dir], s.path());
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o)
            .contains("the certificate expires on 31 Dec 2026 23:59 +0100, within 30 days of 2026-12-01T22:59:59Z"),
        "{}",
        stdout(&o)
    );
}
