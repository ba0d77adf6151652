#pragma once
#include "runtime/graph/graph_thing.hpp"
