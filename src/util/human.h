// docker's human-readable units (github.com/docker/go-units): sizes in
// decimal units ("1.98MB") and durations ("2 weeks").
#pragma once

#include <chrono>
#include <string>

namespace strata {

// units.HumanSizeWithPrecision: %.*g of the value in kB/MB/GB… (base 1000).
std::string HumanSizeWithPrecision(double size, int precision);
// units.HumanSize: precision 4.
std::string HumanSize(double size);
// units.HumanDuration: "Less than a second", "About a minute", "3 weeks"…
std::string HumanDuration(std::chrono::nanoseconds d);

}  // namespace strata
