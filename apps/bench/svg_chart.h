// Minimal hand-written SVG charts: stacked panels of grouped bars or lines over labelled x
// positions, with a y axis from 0. Enough for the bench's run, ablation and history plots.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace silica::bench {

struct ChartSeries {
    std::string name;
    std::string color;           // any SVG colour, e.g. "#4e79a7"
    std::vector<double> values;  // one per x label; NaN = no value (drawn as "n/a" for bars)
};

struct ChartPanel {
    enum class Kind { bars, lines };
    Kind kind = Kind::bars;
    std::string title;
    std::string y_label;
    std::vector<std::string> x_labels;  // '\n' starts a second line
    std::vector<ChartSeries> series;
    // Dashed horizontal lines, e.g. {"mean", 123.4}.
    std::vector<std::pair<std::string, double>> reference_lines;
};

// A complete SVG document: a title, the panels stacked top to bottom, an optional footnote.
std::string render_chart(const std::string& title, const std::vector<ChartPanel>& panels,
                         const std::string& footnote = "");

// The smallest "nice" axis top (1, 2 or 5 times a power of ten, times a whole number of steps)
// at or above `max_value`, and its tick step. {1, 0.2} for max_value <= 0.
std::pair<double, double> nice_axis(double max_value);

// A number in at most about four significant figures ("1234", "56.7", "0.123").
std::string format_number(double value);

std::string xml_escape(std::string_view text);

}  // namespace silica::bench
