"""Addresses that open the bank's forge pre-filled: its « new file » page with a fiche (a pull or
merge request without local git) and its « new issue » page (« Signaler une information périmée »).

Pure functions of the ``forge_new_file_url`` and ``forge_issue_url`` settings. The forge is told by
the shape of the address; the query parameters each one reads:

- GitHub, ``…/new/<branch>/practices``: ``filename`` and ``value`` (the file's content). A reader
  without write access gets a fork and a pull request proposed by GitHub itself.
- GitLab, ``…/-/new/<branch>/practices``: ``file_name`` and ``content`` (the view
  ``app/views/projects/blob/_editor.html.haml`` reads both). The name is always filled; recent
  versions' editor has been reported to open empty despite ``content`` (gitlab-org/gitlab#594214),
  so the page keeps the download for pasting.
- Gitea and Forgejo (its fork), ``…/_new/<branch>/practices``: ``filename`` and ``value``
  (go-gitea/gitea#16556; ``value`` is read with ``URLSearchParams`` by the editor's script).
- New issue: ``title`` and ``body`` on GitHub, Gitea and Forgejo (``…/issues/new``);
  ``issue[title]`` and ``issue[description]`` on GitLab (``…/-/issues/new``).

Forges (GitHub's front servers: 8 KB) and some proxies refuse longer addresses, hence
:data:`MAX_URL_LENGTH`: past it the functions return None and the application explains.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

MAX_URL_LENGTH = 8000
# left as they are in the query: browsers do not encode them either (URL Standard), so the length
# computed here is the length sent; "&", "=", "+", "#" and "'" are always encoded
QUERY_SAFE = "/:,;@!()*"
# forge → (marker in the "new file" address, file name parameter, content parameter)
NEW_FILE_SHAPES = {
    "gitlab": ("/-/new/", "file_name", "content"),
    "gitea": ("/_new/", "filename", "value"),
    "github": ("/new/", "filename", "value"),
}
NEW_FILE_EXAMPLES = ("https://github.com/org/banque/new/main/practices (GitHub), "
                     "https://gitlab.com/org/banque/-/new/main/practices (GitLab), "
                     "https://forge.exemple.fr/org/banque/_new/main/practices (Gitea, Forgejo)")
ISSUE_EXAMPLES = ("https://github.com/org/banque/issues/new (GitHub, Gitea, Forgejo), "
                  "https://gitlab.com/org/banque/-/issues/new (GitLab)")


def new_file_forge(url: str) -> str | None:
    """``"gitlab"``, ``"gitea"`` or ``"github"`` from the shape of a « new file » address; None
    when it has none of the three (the GitLab and Gitea markers are tested first: ``/-/new/`` and
    ``/_new/`` are not taken for GitHub's ``/new/``)."""
    path = urlsplit(url).path + "/"
    return next((forge for forge, (marker, _, _) in NEW_FILE_SHAPES.items() if marker in path), None)


def issue_forge(url: str) -> str | None:
    """``"gitlab"`` (``…/-/issues/new``) or ``"github"`` (``…/issues/new``: GitHub, Gitea and
    Forgejo read the same parameters) from a « new issue » address; None for another shape."""
    path = urlsplit(url).path.rstrip("/")
    if path.endswith("/-/issues/new"):
        return "gitlab"
    return "github" if path.endswith("/issues/new") else None


def _with_query(base: str, params: dict[str, str]) -> str | None:
    """``base`` with ``params`` added to its query (a query already in ``base`` is kept, a
    parameter of the same name replaced; a fragment is dropped); None past :data:`MAX_URL_LENGTH`."""
    parts = urlsplit(base)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query = urlencode([*kept, *params.items()], safe=QUERY_SAFE, quote_via=quote_plus)
    url = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), query, ""))
    return url if len(url) <= MAX_URL_LENGTH else None


def new_file_url(base: str, filename: str, content: str) -> str | None:
    """The forge's « new file » page at ``base`` (the ``forge_new_file_url`` setting), with the
    file's name (``<slug>.md``) and content filled in; None when the address would be longer
    than :data:`MAX_URL_LENGTH`. Raises ValueError (in French) for an address of no known forge."""
    forge = new_file_forge(base)
    if forge is None:
        raise ValueError(f"adresse « nouveau fichier » non reconnue : « {base} » (exemples : {NEW_FILE_EXAMPLES}).")
    _, name_param, content_param = NEW_FILE_SHAPES[forge]
    return _with_query(base, {name_param: filename, content_param: content})


def issue_url(base_issue_url: str, title: str, body: str) -> str | None:
    """The forge's « new issue » page at ``base_issue_url`` (the ``forge_issue_url`` setting) with
    its title and description filled in; None when longer than :data:`MAX_URL_LENGTH`. Raises
    ValueError (in French) for an address that is not a « new issue » page."""
    forge = issue_forge(base_issue_url)
    if forge is None:
        raise ValueError(f"adresse « nouveau ticket » non reconnue : « {base_issue_url} » (exemples : "
                         f"{ISSUE_EXAMPLES}).")
    names = ("issue[title]", "issue[description]") if forge == "gitlab" else ("title", "body")
    return _with_query(base_issue_url, dict(zip(names, (title, body))))
