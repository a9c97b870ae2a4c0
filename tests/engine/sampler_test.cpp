#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <vector>

#include "silica/error.h"
#include "silica/sampler.h"

using namespace silica;

namespace {

SamplerOptions plain(float temperature) {
    SamplerOptions o;
    o.temperature = temperature;
    o.top_k = 0;
    o.top_p = 1.0f;
    o.min_p = 0.0f;
    o.repeat_penalty = 1.0f;
    return o;
}

// The obvious, slow way: sort the whole vocabulary, cut step by step, renormalise.
std::vector<std::pair<int32_t, double>> reference_distribution(std::vector<float> logits, const SamplerOptions& o,
                                                               const std::vector<int32_t>& recent) {
    std::vector<int32_t> distinct = recent;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    for (int32_t t : distinct) {
        float& l = logits[static_cast<size_t>(t)];
        l = l > 0 ? l / o.repeat_penalty : l * o.repeat_penalty;
    }
    std::vector<int32_t> order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
    if (o.top_k > 0 && static_cast<size_t>(o.top_k) < order.size()) order.resize(static_cast<size_t>(o.top_k));
    std::vector<double> p;
    double sum = 0;
    for (int32_t t : order) {
        p.push_back(std::exp((static_cast<double>(logits[t]) - logits[order[0]]) / o.temperature));
        sum += p.back();
    }
    for (double& v : p) v /= sum;
    size_t keep = 0;
    double cum = 0;
    while (keep < p.size()) {
        cum += p[keep++];
        if (cum >= o.top_p) break;
    }
    size_t keep_min_p = 1;
    while (keep_min_p < p.size() && p[keep_min_p] >= o.min_p * p[0]) ++keep_min_p;
    keep = std::min(keep, keep_min_p);
    std::vector<std::pair<int32_t, double>> out;
    double kept_sum = 0;
    for (size_t i = 0; i < keep; ++i) kept_sum += p[i];
    for (size_t i = 0; i < keep; ++i) out.push_back({order[i], p[i] / kept_sum});
    return out;
}

std::vector<int32_t> tokens_of(const std::vector<TokenProbability>& d) {
    std::vector<int32_t> t;
    for (const auto& e : d) t.push_back(e.token);
    return t;
}

std::vector<float> log_probs(const std::vector<double>& p) {
    std::vector<float> l;
    for (double v : p) l.push_back(static_cast<float>(std::log(v)));
    return l;
}

}  // namespace

TEST_CASE("sampler: greedy takes the highest logit, lowest id on ties", "[sampler]") {
    Sampler s(plain(0.0f));
    CHECK(s.sample(std::vector<float>{0.1f, 3.0f, -1.0f, 2.0f}) == 1);
    CHECK(s.sample(std::vector<float>{1.0f, 5.0f, 5.0f, 5.0f}) == 1);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    CHECK(s.sample(std::vector<float>{nan, -1.0f, nan}) == 1);  // NaN never wins
    SamplerOptions with_cuts;  // top-k etc. do not matter when greedy
    with_cuts.temperature = 0.0f;
    with_cuts.top_k = 1;
    Sampler g(with_cuts);
    CHECK(g.sample(std::vector<float>{0.0f, 0.5f, 7.0f}) == 2);
    CHECK(g.distribution(std::vector<float>{0.0f, 0.5f, 7.0f}).size() == 1);
}

TEST_CASE("sampler: bad rows and options are errors", "[sampler]") {
    Sampler s(plain(1.0f));
    const float inf = std::numeric_limits<float>::infinity();
    CHECK_THROWS_AS(s.sample(std::vector<float>{}), Error);
    CHECK_THROWS_AS(s.sample(std::vector<float>{-inf, std::nanf("")}), Error);
    Sampler g(plain(0.0f));
    CHECK_THROWS_AS(g.sample(std::vector<float>{-inf, -inf}), Error);
    SamplerOptions o = plain(-1.0f);
    CHECK_THROWS_AS(Sampler(o), Error);
    o = plain(1.0f);
    o.repeat_penalty = 0.0f;
    CHECK_THROWS_AS(Sampler(o), Error);
    // +inf is a sure thing, not a NaN factory.
    CHECK(s.sample(std::vector<float>{0.0f, inf, 1.0f}) == 1);
}

TEST_CASE("sampler: top-k keeps the k highest, ties to lower ids", "[sampler]") {
    SamplerOptions o = plain(1.0f);
    o.top_k = 3;
    Sampler s(o);
    const std::vector<float> logits{1, 5, 3, 5, 2, 0};
    const auto d = s.distribution(logits);
    REQUIRE(tokens_of(d) == std::vector<int32_t>{1, 3, 2});
    const double z = 2 * std::exp(5.0) + std::exp(3.0);
    CHECK(d[0].probability == Approx(std::exp(5.0) / z));
    CHECK(d[2].probability == Approx(std::exp(3.0) / z));

    o.top_k = 2;
    Sampler ties(o);
    CHECK(tokens_of(ties.distribution(std::vector<float>{2, 2, 2, 2})) == std::vector<int32_t>{0, 1});
    o.top_k = 1;
    Sampler one(o);
    for (int i = 0; i < 20; ++i) CHECK(one.sample(logits) == 1);
}

TEST_CASE("sampler: top-p keeps the smallest set reaching p", "[sampler]") {
    // Probabilities 0.5, 0.2, 0.15, 0.1, 0.05 (shuffled ids).
    const std::vector<int32_t> ids{3, 0, 4, 1, 2};
    std::vector<double> p(5);
    const double probs[5] = {0.5, 0.2, 0.15, 0.1, 0.05};
    for (int i = 0; i < 5; ++i) p[static_cast<size_t>(ids[static_cast<size_t>(i)])] = probs[i];
    const std::vector<float> logits = log_probs(p);

    auto kept = [&](float top_p) {
        SamplerOptions o = plain(1.0f);
        o.top_p = top_p;
        Sampler s(o);
        return tokens_of(s.distribution(logits));
    };
    CHECK(kept(0.80f) == std::vector<int32_t>{3, 0, 4});
    CHECK(kept(0.69f) == std::vector<int32_t>{3, 0});
    CHECK(kept(0.40f) == std::vector<int32_t>{3});
    CHECK(kept(0.0f) == std::vector<int32_t>{3});  // always at least one
    CHECK(kept(0.96f).size() == 5);
    CHECK(kept(1.0f).size() == 5);

    SamplerOptions o = plain(1.0f);
    o.top_p = 0.8f;
    Sampler s(o);
    const auto d = s.distribution(logits);
    REQUIRE(d.size() == 3);
    CHECK(d[0].probability == Approx(0.5 / 0.85));
    CHECK(d[1].probability == Approx(0.2 / 0.85));
    CHECK(d[2].probability == Approx(0.15 / 0.85));
}

TEST_CASE("sampler: min-p drops tokens below min_p x p_max", "[sampler]") {
    const std::vector<float> logits = log_probs({0.05, 0.5, 0.1, 0.2, 0.15});
    for (int top_k : {0, 4, 5}) {  // both code paths (with and without top-k)
        SamplerOptions o = plain(1.0f);
        o.top_k = top_k;
        o.min_p = 0.25f;  // threshold 0.125: keeps 0.5, 0.2, 0.15
        Sampler s(o);
        CHECK(tokens_of(s.distribution(logits)) == std::vector<int32_t>{1, 3, 4});
        o.min_p = 0.35f;  // threshold 0.175: keeps 0.5, 0.2
        Sampler t(o);
        CHECK(tokens_of(t.distribution(logits)) == std::vector<int32_t>{1, 3});
        o.min_p = 2.0f;  // nothing passes: the top token stays
        Sampler u(o);
        CHECK(tokens_of(u.distribution(logits)) == std::vector<int32_t>{1});
    }
}

TEST_CASE("sampler: temperature sharpens and flattens", "[sampler]") {
    const std::vector<float> logits{0.0f, static_cast<float>(std::log(4.0))};
    Sampler hot(plain(2.0f));  // weights 1 : 2
    auto d = hot.distribution(logits);
    REQUIRE(d.size() == 2);
    CHECK(d[0].token == 1);
    CHECK(d[0].probability == Approx(2.0 / 3.0).epsilon(1e-5));
    Sampler cold(plain(0.5f));  // weights 1 : 16
    d = cold.distribution(logits);
    CHECK(d[0].probability == Approx(16.0 / 17.0).epsilon(1e-5));
    Sampler one(plain(1.0f));
    d = one.distribution(logits);
    CHECK(d[0].probability == Approx(0.8).epsilon(1e-5));
}

TEST_CASE("sampler: repetition penalty divides positive logits and multiplies negative ones", "[sampler]") {
    SamplerOptions o = plain(1.0f);
    o.repeat_penalty = 2.0f;
    o.repeat_last_n = 3;
    Sampler s(o);
    for (int32_t t : {0, 1, 0}) s.accept(t);  // token 0 twice: penalised once
    const auto d = s.distribution(std::vector<float>{2.0f, -2.0f, 1.0f, 3.0f});
    // Penalised logits: 1, -4, 1, 3.
    const double z = std::exp(1.0) * 2 + std::exp(-4.0) + std::exp(3.0);
    std::map<int32_t, float> p;
    for (const auto& e : d) p[e.token] = e.probability;
    CHECK(p[3] == Approx(std::exp(3.0) / z));
    CHECK(p[0] == Approx(std::exp(1.0) / z));
    CHECK(p[2] == Approx(std::exp(1.0) / z));
    CHECK(p[1] == Approx(std::exp(-4.0) / z));

    // Only the last repeat_last_n tokens count.
    SamplerOptions g = plain(0.0f);
    g.repeat_penalty = 1.5f;
    g.repeat_last_n = 2;
    Sampler greedy(g);
    const std::vector<float> logits{3.0f, 2.9f, 0.0f, 0.0f};
    greedy.accept(0);
    CHECK(greedy.sample(logits) == 1);  // 3 / 1.5 = 2 < 2.9
    greedy.accept(2);
    greedy.accept(3);  // token 0 has left the window
    CHECK(greedy.sample(logits) == 0);
    greedy.accept(0);
    greedy.reset();  // forgets history
    CHECK(greedy.sample(logits) == 0);
}

TEST_CASE("sampler: presence and frequency penalties subtract per token and per occurrence", "[sampler]") {
    SamplerOptions o = plain(1.0f);
    o.presence_penalty = 0.5f;
    o.frequency_penalty = 0.25f;
    o.repeat_last_n = 4;
    Sampler s(o);
    for (int32_t t : {1, 0, 2, 0, 0}) s.accept(t);  // the window keeps the last 4: 0, 2, 0, 0 (token 1 left it)
    const auto d = s.distribution(std::vector<float>{2.0f, -2.0f, 1.0f, 3.0f});
    // Token 0: 2 - 0.5 - 3 * 0.25 = 0.75; token 2: 1 - 0.5 - 0.25 = 0.25; others unchanged.
    const double z = std::exp(0.75) + std::exp(-2.0) + std::exp(0.25) + std::exp(3.0);
    std::map<int32_t, float> p;
    for (const auto& e : d) p[e.token] = e.probability;
    CHECK(p[0] == Approx(std::exp(0.75) / z));
    CHECK(p[1] == Approx(std::exp(-2.0) / z));
    CHECK(p[2] == Approx(std::exp(0.25) / z));
    CHECK(p[3] == Approx(std::exp(3.0) / z));

    SamplerOptions bad = plain(1.0f);
    bad.presence_penalty = 2.5f;
    CHECK_THROWS_WITH(Sampler(bad), Catch::Contains("presence and frequency"));
    bad.presence_penalty = std::nanf("");
    CHECK_THROWS(Sampler(bad));
}

TEST_CASE("sampler: cuts match a sort-everything reference on random rows", "[sampler]") {
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    for (int trial = 0; trial < 200; ++trial) {
        const size_t n = trial % 3 == 0 ? 5000 : 1 + rng() % 300;
        std::vector<float> logits(n);
        for (float& l : logits) l = normal(rng);
        if (trial % 4 == 1)
            for (float& l : logits) l = std::round(l);  // many ties
        SamplerOptions o;
        o.temperature = 0.2f + static_cast<float>(rng() % 20) / 10.0f;
        o.top_k = static_cast<int>(rng() % 60);  // 0 = off
        o.top_p = static_cast<float>(rng() % 101) / 100.0f;
        o.min_p = static_cast<float>(rng() % 30) / 100.0f;
        o.repeat_penalty = 1.0f + static_cast<float>(rng() % 10) / 10.0f;
        o.repeat_last_n = 8;
        Sampler s(o);
        std::vector<int32_t> recent;
        for (int i = 0; i < 12; ++i) {
            const int32_t t = static_cast<int32_t>(rng() % n);
            s.accept(t);
            recent.push_back(t);
        }
        recent.erase(recent.begin(), recent.end() - 8);
        const auto got = s.distribution(logits);
        const auto want = reference_distribution(logits, o, recent);
        INFO("trial " << trial << " n " << n << " T " << o.temperature << " k " << o.top_k << " p " << o.top_p
                      << " min_p " << o.min_p);
        REQUIRE(got.size() == want.size());
        for (size_t i = 0; i < got.size(); ++i) {
            CHECK(got[i].token == want[i].first);
            CHECK(got[i].probability == Approx(want[i].second).epsilon(1e-4).margin(1e-7));
        }
    }
}

TEST_CASE("sampler: draw frequencies follow the kept, renormalised distribution", "[sampler]") {
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 1.5f);
    std::vector<float> logits(64);
    for (float& l : logits) l = normal(rng);
    SamplerOptions o;
    o.temperature = 0.9f;
    o.top_k = 12;
    o.top_p = 0.9f;
    o.min_p = 0.05f;
    o.seed = 1234;
    const auto want = reference_distribution(logits, o, {});
    REQUIRE(want.size() >= 3);
    Sampler s(o);
    const int kDraws = 100'000;
    std::map<int32_t, int> count;
    for (int i = 0; i < kDraws; ++i) count[s.sample(logits)] += 1;
    // Nothing outside the kept set, and a chi-square statistic within reason for its degrees of
    // freedom (the 0.999 quantile for up to 11 degrees of freedom is below 32).
    double chi2 = 0.0;
    int seen = 0;
    for (const auto& [token, p] : want) {
        const double expected = p * kDraws;
        const double observed = count.count(token) ? count[token] : 0;
        chi2 += (observed - expected) * (observed - expected) / expected;
        seen += static_cast<int>(observed);
    }
    CHECK(seen == kDraws);
    CHECK(chi2 < 32.0);
}

TEST_CASE("sampler: with nothing cut, draws follow the softmax over the whole vocabulary", "[sampler]") {
    // OpenAI's defaults (no top-k, top-p 1, no min-p) take the unsorted path.
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> logits(24);
    for (float& l : logits) l = normal(rng);
    logits[7] = -std::numeric_limits<float>::infinity();  // never drawn
    SamplerOptions o;
    o.temperature = 1.3f;
    o.top_k = 0;
    o.top_p = 1.0f;
    o.min_p = 0.0f;
    o.seed = 99;
    Sampler s(o);
    const auto want = s.distribution(logits);  // the sorted path's probabilities
    REQUIRE(want.size() == 23);
    const int kDraws = 100'000;
    std::map<int32_t, int> count;
    for (int i = 0; i < kDraws; ++i) count[s.sample(logits)] += 1;
    CHECK(count.count(7) == 0);
    double chi2 = 0.0;
    for (const auto& e : want) {
        const double expected = e.probability * kDraws;
        const double observed = count.count(e.token) ? count[e.token] : 0;
        chi2 += (observed - expected) * (observed - expected) / expected;
    }
    CHECK(chi2 < 49.7);  // the 0.999 quantile of chi-square with 22 degrees of freedom is 48.3
}

TEST_CASE("sampler: same seed, same tokens; reset restarts the sequence", "[sampler]") {
    std::vector<float> logits(1000);
    for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>(std::sin(i * 0.37) * 4.0);
    SamplerOptions o;
    o.top_k = 0;
    o.min_p = 0.0f;
    o.top_p = 1.0f;
    o.temperature = 1.5f;
    o.seed = 99;
    Sampler a(o), b(o);
    std::vector<int32_t> first;
    for (int i = 0; i < 500; ++i) {
        const int32_t t = a.sample(logits);
        CHECK(t == b.sample(logits));
        first.push_back(t);
    }
    a.reset();
    for (int i = 0; i < 500; ++i) CHECK(a.sample(logits) == first[static_cast<size_t>(i)]);
    o.seed = 100;
    Sampler c(o);
    int same = 0;
    for (int i = 0; i < 500; ++i) same += c.sample(logits) == first[static_cast<size_t>(i)];
    CHECK(same < 100);  // a different seed gives a different sequence
}

TEST_CASE("sampler: large vocabulary with top-k", "[sampler]") {
    std::mt19937 rng(3);
    std::normal_distribution<float> normal(0.0f, 2.0f);
    std::vector<float> logits(201088);
    for (float& l : logits) l = normal(rng);
    SamplerOptions o;  // the defaults: T 0.8, top-k 40, top-p 0.95, min-p 0.05
    Sampler s(o);
    const auto got = s.distribution(logits);
    const auto want = reference_distribution(logits, o, {});
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i].token == want[i].first);
    const int32_t t = s.sample(logits);
    CHECK(std::find_if(want.begin(), want.end(), [&](const auto& e) { return e.first == t; }) != want.end());
}

TEST_CASE("sampler: top-p without top-k over a flat distribution of many tokens", "[sampler]") {
    // Thousands of similar logits: top-p needs far more than the first few hundred tokens.
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 0.3f);
    std::vector<float> logits(20000);
    for (float& l : logits) l = normal(rng);
    for (float top_p : {0.5f, 0.9f, 0.99f, 1.0f}) {
        for (float min_p : {0.0f, 0.5f}) {
            SamplerOptions o = plain(1.0f);
            o.top_p = top_p;
            o.min_p = min_p;
            Sampler s(o);
            const auto got = s.distribution(logits);
            const auto want = reference_distribution(logits, o, {});
            INFO("top_p " << top_p << " min_p " << min_p);
            REQUIRE(got.size() == want.size());
            if (min_p == 0.0f && top_p >= 0.9f) CHECK(got.size() > 1000);
            for (size_t i = 0; i < got.size(); ++i) {
                REQUIRE(got[i].token == want[i].first);
                REQUIRE(got[i].probability == Approx(want[i].second).epsilon(1e-4));
            }
        }
    }
}
