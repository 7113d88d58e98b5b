// test_odr: odr_a.cpp and odr_b.cpp both include bayesdrop/bayesdrop.hpp and use its classes. If a header defines a
// non-inline function or variable, both object files carry it and this program fails to link; otherwise it runs
// both halves and exits 0.
#include <cstdio>

int odr_a();
int odr_b();

int main() {
  const int a = odr_a();
  const int b = odr_b();
  std::printf("test_odr: odr_a %s, odr_b %s\n", a == 0 ? "ok" : "FAILED", b == 0 ? "ok" : "FAILED");
  return a == 0 && b == 0 ? 0 : 1;
}
