"""Checks for every page of a browser walk, collected so that one run lists every fix.

``PageChecks(page, folder)`` listens to the page from the start (console errors, uncaught
script errors, Content-Security-Policy violations); ``check(name)`` then looks at the page the
browser is on now: a numbered full-page screenshot in ``folder`` (``NN-name.png``), no
horizontal overflow, no axe-core violation of impact "serious" or "critical" (axe-playwright-
python bundles axe.min.js, so this runs offline), and no console error since the last check.
"""

from __future__ import annotations

from pathlib import Path

from axe_playwright_python.sync_playwright import Axe

BLOCKING_IMPACTS = {"serious", "critical"}
AXE = Axe()
# Chromium logs a refused resource as a console error too; the listener says which directive.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("Content Security Policy violation: " + event.effectiveDirective + " blocked "
                + event.blockedURI + " in " + document.location.pathname);
});
"""


def widest(page) -> list[str]:
    """The elements that reach past the window's right edge, deepest first: what to fix."""
    return page.evaluate("""() => {
      const out = [];
      for (const el of document.querySelectorAll("body *")) {
        const r = el.getBoundingClientRect();
        if (r.right > window.innerWidth + 1 && el.children.length === 0) {
          const classes = typeof el.className === "string" && el.className
            ? "." + el.className.split(" ").join(".") : "";
          const id = el.id ? "#" + el.id : "";
          out.push(el.tagName.toLowerCase() + id + classes + " " + Math.round(r.right));
        }
      }
      return out.slice(0, 5);
    }""")


def overflow(page) -> str:
    """"" when the page fits its window, else what is too wide."""
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll_width <= inner_width:
        return ""
    return f"{scroll_width} px wide in a {inner_width} px window (widest: {widest(page)})"


def axe_problems(page) -> list[str]:
    """The serious and critical axe-core violations of the page, one line each."""
    problems = []
    for violation in AXE.run(page).response["violations"]:
        if violation["impact"] in BLOCKING_IMPACTS:
            targets = [node["target"] for node in violation["nodes"]][:5]
            problems.append(f"axe {violation['impact']} {violation['id']} ({violation['help']}) at {targets}")
    return problems


class PageChecks:
    """The checks of one walk (one browser page), and what they found."""

    def __init__(self, page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.problems: list[str] = []
        self.console: list[str] = []
        self.checked: list[str] = []
        folder.mkdir(parents=True, exist_ok=True)
        page.add_init_script(REPORT_VIOLATIONS)
        page.on("console", lambda message: message.type == "error" and self.console.append(message.text))
        page.on("pageerror", lambda error: self.console.append(f"uncaught {error}"))

    def check(self, name: str) -> Path:
        """Check the page the browser shows now; answers its screenshot's path."""
        page = self.page
        page.wait_for_load_state("load")
        self.checked.append(name)
        path = self.folder / f"{len(self.checked):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        where = f"{name} ({page.url})"
        too_wide = overflow(page)
        if too_wide:
            self.problems.append(f"{where}: {too_wide}")
        self.problems.extend(f"{where}: {problem}" for problem in axe_problems(page))
        self.problems.extend(f"{where}: console error {text}" for text in self.console)
        self.console.clear()
        return path


def fill_keap_oauth_form(page, keap, client: tuple[str, str]) -> None:
    """Keap's connect form, OAuth chosen, pointed at the sandbox (its URLs folded under
    Advanced), submitted: the browser goes on to the sandbox's authorize page and back."""
    page.check("input[name=auth_method][value=oauth]")
    page.fill("input[name=client_id]", client[0])
    page.fill("input[name=client_secret]", client[1])
    page.click("[data-testid=advanced] summary")
    page.fill("input[name=api_base]", f"{keap.url}/crm")
    page.fill("input[name=token_url]", f"{keap.url}/token")
    page.fill("input[name=authorize_url]", f"{keap.url}/app/oauth/authorize")
    page.click("button[type=submit]:has-text('Connect')")
