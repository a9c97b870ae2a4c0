#include "apps/bench/svg_chart.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace silica::bench {
namespace {

constexpr double kWidth = 860.0;
constexpr double kLeft = 80.0;       // room for the y tick labels and axis title
constexpr double kRight = 30.0;
constexpr double kTitleHeight = 44.0;
constexpr double kPanelTitle = 30.0; // panel title + legend row
constexpr double kPlotHeight = 190.0;
constexpr double kXLabels = 74.0;    // room for (possibly slanted or two-line) x labels
constexpr double kPanelHeight = kPanelTitle + kPlotHeight + kXLabels;
constexpr double kFootLine = 15.0;  // per footnote line
constexpr size_t kFootChars = 125;  // characters per footnote line at font-size 11

// Splits `text` at spaces into lines of at most about `width` characters.
std::vector<std::string> wrap(const std::string& text, size_t width) {
    std::vector<std::string> lines;
    std::string line;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find(' ', pos);
        if (end == std::string::npos) end = text.size();
        const std::string word = text.substr(pos, end - pos);
        pos = end + 1;
        if (word.empty()) continue;  // runs of spaces
        if (!line.empty() && line.size() + 1 + word.size() > width) {
            lines.push_back(line);
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
    }
    if (!line.empty()) lines.push_back(line);
    return lines;
}

std::string text(double x, double y, std::string_view s, std::string_view attrs = "") {
    return fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" {}>{}</text>\n", x, y, attrs, xml_escape(s));
}

void draw_panel(std::string& out, const ChartPanel& panel, double top) {
    const double plot_left = kLeft, plot_right = kWidth - kRight;
    const double plot_top = top + kPanelTitle, plot_bottom = plot_top + kPlotHeight;
    const double plot_width = plot_right - plot_left;

    out += text(plot_left, top + 18, panel.title, "font-size=\"14\" font-weight=\"bold\"");
    // Legend, right-aligned in the title row.
    double legend_x = plot_right;
    for (auto it = panel.series.rbegin(); it != panel.series.rend(); ++it) {
        const double w = 18.0 + 7.0 * static_cast<double>(it->name.size());
        legend_x -= w + 12.0;
        out += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"12\" height=\"12\" fill=\"{}\"/>\n", legend_x,
                           top + 8, xml_escape(it->color));
        out += text(legend_x + 16, top + 18, it->name, "font-size=\"12\"");
    }

    double max_value = 0.0;
    for (const auto& s : panel.series)
        for (double v : s.values)
            if (std::isfinite(v)) max_value = std::max(max_value, v);
    for (const auto& r : panel.reference_lines)
        if (std::isfinite(r.second)) max_value = std::max(max_value, r.second);
    const auto [axis_top, step] = nice_axis(max_value);
    auto y_of = [&](double v) { return plot_bottom - (v / axis_top) * kPlotHeight; };

    // Grid and y ticks.
    for (int i = 0; step > 0.0 && i <= static_cast<int>(std::lround(axis_top / step)); ++i) {
        const double v = step * i;
        const double y = y_of(v);
        out += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#dddddd\"/>\n",
                           plot_left, y, plot_right, y);
        out += text(plot_left - 6, y + 4, fmt::format("{:g}", v), "font-size=\"11\" text-anchor=\"end\"");
    }
    out += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#333333\"/>\n",
                       plot_left, plot_top, plot_bottom);
    out += fmt::format("<line x1=\"{0:.1f}\" y1=\"{2:.1f}\" x2=\"{1:.1f}\" y2=\"{2:.1f}\" stroke=\"#333333\"/>\n",
                       plot_left, plot_right, plot_bottom);
    out += fmt::format("<text transform=\"translate({:.1f},{:.1f}) rotate(-90)\" font-size=\"12\" "
                       "text-anchor=\"middle\">{}</text>\n",
                       plot_left - 58, (plot_top + plot_bottom) / 2, xml_escape(panel.y_label));

    const size_t n_x = panel.x_labels.size();
    if (n_x == 0) return;
    const double group = plot_width / static_cast<double>(n_x);
    auto x_center = [&](size_t i) { return plot_left + group * (static_cast<double>(i) + 0.5); };

    // X labels: at most ~20 shown. A label may have several lines ('\n'); when the longest line is
    // wider than its slot only the first line is shown, slanted.
    auto lines_of = [](const std::string& label) {
        std::vector<std::string> lines;
        size_t pos = 0;
        while (true) {
            const size_t end = label.find('\n', pos);
            lines.push_back(label.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
            if (end == std::string::npos) break;
            pos = end + 1;
        }
        return lines;
    };
    size_t longest = 0;
    for (const auto& l : panel.x_labels)
        for (const auto& line : lines_of(l)) longest = std::max(longest, line.size());
    const size_t every = std::max<size_t>(1, (n_x + 19) / 20);
    const bool slant = static_cast<double>(longest) * 6.5 > group * static_cast<double>(every);
    for (size_t i = 0; i < n_x; i += every) {
        const auto lines = lines_of(panel.x_labels[i]);
        if (slant) {
            std::string joined = lines.front();
            if (joined.size() > 18) joined = joined.substr(0, 17) + "~";
            out += fmt::format("<text transform=\"translate({:.1f},{:.1f}) rotate(-25)\" font-size=\"11\" "
                               "text-anchor=\"end\">{}</text>\n",
                               x_center(i) + 4, plot_bottom + 14, xml_escape(joined));
        } else {
            for (size_t k = 0; k < lines.size(); ++k)
                out += text(x_center(i), plot_bottom + 16 + 13.0 * static_cast<double>(k), lines[k],
                            "font-size=\"11\" text-anchor=\"middle\"");
        }
    }

    const size_t n_series = std::max<size_t>(1, panel.series.size());
    const bool label_values = n_x * n_series <= 24;
    if (panel.kind == ChartPanel::Kind::bars) {
        const double bar = group * 0.8 / static_cast<double>(n_series);
        for (size_t s = 0; s < panel.series.size(); ++s) {
            const auto& series = panel.series[s];
            for (size_t i = 0; i < n_x && i < series.values.size(); ++i) {
                const double x = plot_left + group * static_cast<double>(i) + group * 0.1 + bar * static_cast<double>(s);
                const double v = series.values[i];
                if (!std::isfinite(v)) {
                    out += text(x + bar / 2, plot_bottom - 4, "n/a", "font-size=\"10\" text-anchor=\"middle\" fill=\"#888888\"");
                    continue;
                }
                const double y = y_of(std::max(v, 0.0));
                out += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
                                   "<title>{}: {}</title></rect>\n",
                                   x, y, std::max(bar - 1.0, 1.0), plot_bottom - y, xml_escape(series.color),
                                   xml_escape(series.name), format_number(v));
                if (label_values)
                    out += text(x + bar / 2, y - 3, format_number(v), "font-size=\"10\" text-anchor=\"middle\"");
            }
        }
    } else {
        for (const auto& series : panel.series) {
            std::string points;
            auto flush = [&] {
                if (!points.empty())
                    out += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n",
                                       points, xml_escape(series.color));
                points.clear();
            };
            for (size_t i = 0; i < n_x && i < series.values.size(); ++i) {
                const double v = series.values[i];
                if (!std::isfinite(v)) {
                    flush();
                    continue;
                }
                points += fmt::format("{}{:.1f},{:.1f}", points.empty() ? "" : " ", x_center(i), y_of(v));
            }
            flush();
            for (size_t i = 0; i < n_x && i < series.values.size(); ++i) {
                const double v = series.values[i];
                if (!std::isfinite(v)) continue;
                out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"><title>{}: {}</title>"
                                   "</circle>\n",
                                   x_center(i), y_of(v), xml_escape(series.color), xml_escape(series.name),
                                   format_number(v));
                if (label_values)
                    out += text(x_center(i), y_of(v) - 7, format_number(v), "font-size=\"10\" text-anchor=\"middle\"");
            }
        }
    }

    for (const auto& [label, value] : panel.reference_lines) {
        if (!std::isfinite(value)) continue;
        const double y = y_of(value);
        out += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#555555\" "
                           "stroke-dasharray=\"6,4\"/>\n",
                           plot_left, y, plot_right, y);
        out += text(plot_right - 2, y - 4, label + " " + format_number(value),
                    "font-size=\"11\" text-anchor=\"end\" fill=\"#555555\"");
    }
}

}  // namespace

std::pair<double, double> nice_axis(double max_value) {
    if (!(max_value > 0.0) || !std::isfinite(max_value)) return {1.0, 0.2};
    // Aim for about five steps of 1, 2 or 5 times a power of ten.
    const double raw = max_value / 5.0;
    const double power = std::pow(10.0, std::floor(std::log10(raw)));
    double step = power;
    for (double m : {1.0, 2.0, 5.0, 10.0}) {
        step = m * power;
        if (step >= raw) break;
    }
    const double top = step * std::ceil(max_value / step - 1e-9);
    return {top, step};
}

std::string format_number(double value) {
    if (!std::isfinite(value)) return "n/a";
    const double a = std::fabs(value);
    if (a >= 1000.0) return fmt::format("{:.0f}", value);
    if (a >= 100.0) return fmt::format("{:.1f}", value);
    if (a == 0.0) return "0";
    return fmt::format("{:.3g}", value);
}

std::string xml_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string render_chart(const std::string& title, const std::vector<ChartPanel>& panels, const std::string& footnote) {
    const std::vector<std::string> foot_lines = wrap(footnote, kFootChars);
    const double height = kTitleHeight + kPanelHeight * static_cast<double>(panels.size()) +
                          kFootLine * static_cast<double>(foot_lines.size()) + 12.0;
    std::string out = fmt::format(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\" "
        "font-family=\"sans-serif\">\n"
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        kWidth, height);
    out += text(kWidth / 2, 28, title, "font-size=\"17\" font-weight=\"bold\" text-anchor=\"middle\"");
    for (size_t i = 0; i < panels.size(); ++i) draw_panel(out, panels[i], kTitleHeight + kPanelHeight * static_cast<double>(i));
    for (size_t i = 0; i < foot_lines.size(); ++i)
        out += text(kLeft, height - 10 - kFootLine * static_cast<double>(foot_lines.size() - 1 - i), foot_lines[i],
                    "font-size=\"11\" fill=\"#555555\"");
    out += "</svg>\n";
    return out;
}

}  // namespace silica::bench
