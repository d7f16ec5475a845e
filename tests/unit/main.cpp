// Entry point of the unit-test binary: doctest's main, nothing else.
// Every other tests/unit/*_test.cpp only includes <doctest/doctest.h>.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
