// tocsin::admin::Html — the admin's page writer: every value written is HTML-escaped unless it is
// markup the program itself wrote (a string literal, through raw()), so a username such as
// "<script>" is shown as text, never run.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tocsin::admin {

/// `text` with `&`, `<`, `>`, `"` and `'` replaced by their entities: safe inside an element and
/// inside a quoted attribute value. Bytes that are not valid UTF-8 become U+FFFD, and control
/// characters other than tab, newline and carriage return are dropped.
[[nodiscard]] std::string escape(std::string_view text);

/// Markup written by the program: what Html writes as it is. Made only from a string literal
/// (or by Html itself), so text from a request or the database cannot become markup.
class Raw {
  public:
    /// Markup from a literal: `Raw("<br>")`.
    template <std::size_t N>
    consteval explicit Raw(const char (&markup)[N]) : text_(markup, N - 1) {}
    /// The markup.
    [[nodiscard]] std::string_view text() const noexcept { return text_; }

  private:
    std::string_view text_;
};

/// An HTML document built by appending: `<<` escapes text and numbers, writes Raw markup and
/// other Html as they are.
class Html {
  public:
    Html() = default;
    /// Appends `text`, escaped.
    Html& operator<<(std::string_view text);
    /// Appends `text`, escaped.
    Html& operator<<(const std::string& text) { return *this << std::string_view(text); }
    /// Appends `text`, escaped.
    Html& operator<<(const char* text) { return *this << std::string_view(text); }
    /// Appends a number.
    Html& operator<<(std::int64_t number);
    /// Appends a number.
    Html& operator<<(int number) { return *this << static_cast<std::int64_t>(number); }
    /// Appends a number.
    Html& operator<<(std::size_t number);
    /// Appends markup as it is.
    Html& operator<<(Raw markup);
    /// Appends another document as it is (already escaped when it was built).
    Html& operator<<(const Html& part);
    /// ` name="value"`, the value escaped (the name must be a literal).
    template <std::size_t N>
    Html& attr(const char (&name)[N], std::string_view value) {
        return attribute(std::string_view(name, N - 1), value);
    }
    /// The document.
    [[nodiscard]] const std::string& str() const noexcept { return out_; }

  private:
    Html& attribute(std::string_view name, std::string_view value);
    std::string out_;
};

}  // namespace tocsin::admin
