// The admin's page frame and its static assets, served by the program itself (no CDN: the admin
// works offline).
#include <string>

#include "internal.hpp"

namespace tocsin::admin::detail {

namespace {

constexpr std::string_view stylesheet = R"css(
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:14px;color:#222;background:#fff}
#header{background:#264b5d;color:#f5dd5d;padding:10px 24px;display:flex;justify-content:space-between;align-items:center}
#header a,#header button{color:#fff}
#header h1{margin:0;font-size:18px;font-weight:400}
#header h1 a{color:#f5dd5d;text-decoration:none}
#user-tools{color:#ddd}
#user-tools form{display:inline}
#user-tools button{background:none;border:0;cursor:pointer;text-decoration:underline;font:inherit;padding:0}
#nav{background:#79aec8;padding:8px 24px;color:#fff}
#nav a{color:#fff;margin-right:14px}
#content{padding:16px 24px}
a{color:#447e9b}
h1{font-size:20px;font-weight:400;color:#666}
table{border-collapse:collapse;margin:8px 0}
th,td{border-bottom:1px solid #eee;padding:6px 10px;text-align:left;vertical-align:top}
th{background:#f6f6f6}
.messagelist{background:#dfd;padding:8px 12px;border:1px solid #9c9;margin-bottom:12px}
.errornote,.errorlist{color:#ba2121}
.errornote{border:1px solid #ba2121;padding:8px 12px}
.errorlist{list-style:none;padding:0;margin:2px 0}
.form-row{padding:8px 0;border-bottom:1px solid #eee}
.form-row label{display:inline-block;width:160px;font-weight:600;vertical-align:top}
.help{color:#999;font-size:12px}
.button,input[type=submit]{background:#417690;color:#fff;border:0;padding:7px 14px;border-radius:4px;cursor:pointer}
.deletelink{color:#ba2121}
.deletebutton{background:#ba2121 !important}
.paginator{margin:10px 0;color:#666}
.login{max-width:380px;margin:40px auto}
.ok{color:#2a7a2a}.error{color:#ba2121;font-weight:600}
#signal-log{font-family:ui-monospace,monospace;font-size:12px}
)css";

constexpr std::string_view script = R"js(
// The signals panel's live log: server-sent events from /admin/signals/events/.
(function () {
  var log = document.getElementById('signal-log');
  if (!log || !window.EventSource) return;
  var source = new EventSource('/admin/signals/events/');
  var status = document.getElementById('signal-log-status');
  function state(text) {
    log.setAttribute('data-live', text);
    if (status) status.textContent = text;
  }
  source.onopen = function () { state('open'); };
  source.onerror = function () { state('reconnecting'); };
  source.onmessage = function (event) {
    var send = JSON.parse(event.data);
    var row = document.createElement('tr');
    function cell(text, cls) {
      var td = document.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      row.appendChild(td);
    }
    cell(send.signal + (send.after_commit ? ' (after commit)' : ''));
    cell(send.sender);
    cell(send.instance);
    var list = document.createElement('td');
    send.receivers.forEach(function (r) {
      var div = document.createElement('div');
      div.className = r.outcome === 'ok' ? 'ok' : (r.outcome === 'deferred' ? '' : 'error');
      div.textContent = r.name + ' ' + r.outcome + ' ' + r.duration_us + ' µs' + (r.error ? ': ' + r.error : '');
      list.appendChild(div);
    });
    row.appendChild(list);
    cell(send.total_us + ' µs');
    var body = log.querySelector('tbody');
    body.insertBefore(row, body.firstChild);
    while (body.children.length > 200) body.removeChild(body.lastChild);
  };
})();
)js";

}  // namespace

Response page(Context& context, std::string_view title, const Html& body, int status) {
    Html h;
    h << Raw("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>") << title
      << Raw(" | tocsin admin</title><link rel=\"stylesheet\" href=\"/admin/static/admin.css\">"
             "<script src=\"/admin/static/admin.js\" defer></script></head><body>");
    h << Raw("<div id=\"header\"><h1><a href=\"/admin/\">tocsin administration</a></h1>");
    if (context.user) {
        h << Raw("<div id=\"user-tools\">Welcome, <strong id=\"user-name\">")
          << context.user->username()
          << Raw("</strong>. <form method=\"post\" action=\"/admin/logout/\" id=\"logout-form\">")
          << csrf_input(context) << Raw("<button type=\"submit\">Log out</button></form></div>");
    }
    h << Raw("</div>");
    if (context.user) {
        h << Raw(
            "<div id=\"nav\"><a href=\"/admin/\">Models</a><a href=\"/admin/signals/\">Signals"
            "</a><a href=\"/admin/signals/receivers/\">Receivers</a><a "
            "href=\"/admin/signals/graph/\">Signal graph</a></div>");
    }
    h << Raw("<div id=\"content\">");
    if (context.user) {
        if (auto message = take_message(context); !message.empty()) {
            h << Raw("<p class=\"messagelist\" id=\"message\">") << message << Raw("</p>");
        }
    }
    h << body << Raw("</div></body></html>");
    Response r;
    r.status = status;
    r.body = h.str();
    return r;
}

Response error_page(Context& context, int status, std::string_view message) {
    Html body;
    body << Raw("<h1>") << std::to_string(status) << Raw("</h1><p class=\"errornote\">") << message
         << Raw("</p>");
    return page(context, std::to_string(status), body, status);
}

std::optional<Response> asset(std::string_view name) {
    Response r;
    if (name == "admin.css") {
        r.content_type = "text/css; charset=utf-8";
        r.body = stylesheet;
    } else if (name == "admin.js") {
        r.content_type = "text/javascript; charset=utf-8";
        r.body = script;
    } else {
        return std::nullopt;
    }
    return r;
}

}  // namespace tocsin::admin::detail
