/* test-sigv4: placeholder */
#include "test.h"
int main(void) { CHECK(1); TEST_DONE(); }
