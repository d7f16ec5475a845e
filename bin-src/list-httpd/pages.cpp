// list-httpd's HTML pages: see httpd.hpp. Every value put in a page is escaped.
#include "httpd.hpp"

namespace quail::httpd {
namespace {

std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string page(std::string_view title, const std::string& content) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width\"><meta name=\"robots\" content=\"noindex\">"
         "<title>" + escape(title) + "</title></head>\n<body style=\"font-family:sans-serif;max-width:40em;margin:2em auto\">\n<h1>" +
         escape(title) + "</h1>\n" + content + "</body></html>\n";
}

}  // namespace

std::string confirm_page(std::string_view list, std::string_view subscriber) {
  // A GET never unsubscribes: link scanners and previews fetch URLs (RFC 8058 section 4).
  return page("Unsubscribe from " + std::string(list),
              "<p>Remove <b>" + escape(subscriber) + "</b> from the mailing list <b>" + escape(list) + "</b>?</p>\n"
              "<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
              "<button type=\"submit\">Unsubscribe</button></form>\n");
}

std::string done_page(std::string_view list, std::string_view subscriber) {
  return page("Unsubscribed",
              "<p>The request to remove <b>" + escape(subscriber) + "</b> from <b>" + escape(list) +
                  "</b> has been handed to the list. It takes effect within minutes, and a last message "
                  "confirms it; you need to do nothing more.</p>\n");
}

std::string error_page(int status, std::string_view why) {
  return page(std::to_string(status) + " " + std::string(http::status_text(status)), "<p>" + escape(why) + "</p>\n");
}

}  // namespace quail::httpd
