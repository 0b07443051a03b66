#include "server/common/clock.h"

namespace coplan {

Clock& SystemClock() {
  static RealClock* const clock = new RealClock();
  return *clock;
}

}  // namespace coplan
