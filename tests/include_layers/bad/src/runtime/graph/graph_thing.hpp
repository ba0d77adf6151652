#pragma once
int graph_thing();
