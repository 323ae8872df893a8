package dev.kizuna.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * EventService streams what happens in the daemon: peers, pairing, links, transfers, streams,
 * commands and the daemon's own state.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class EventServiceGrpc {

  private EventServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "kizuna.v1.EventService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.SubscribeEventsRequest,
      dev.kizuna.v1.SubscribeEventsResponse> getSubscribeEventsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "SubscribeEvents",
      requestType = dev.kizuna.v1.SubscribeEventsRequest.class,
      responseType = dev.kizuna.v1.SubscribeEventsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.SubscribeEventsRequest,
      dev.kizuna.v1.SubscribeEventsResponse> getSubscribeEventsMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.SubscribeEventsRequest, dev.kizuna.v1.SubscribeEventsResponse> getSubscribeEventsMethod;
    if ((getSubscribeEventsMethod = EventServiceGrpc.getSubscribeEventsMethod) == null) {
      synchronized (EventServiceGrpc.class) {
        if ((getSubscribeEventsMethod = EventServiceGrpc.getSubscribeEventsMethod) == null) {
          EventServiceGrpc.getSubscribeEventsMethod = getSubscribeEventsMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.SubscribeEventsRequest, dev.kizuna.v1.SubscribeEventsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "SubscribeEvents"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.SubscribeEventsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.SubscribeEventsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new EventServiceMethodDescriptorSupplier("SubscribeEvents"))
              .build();
        }
      }
    }
    return getSubscribeEventsMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static EventServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<EventServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<EventServiceStub>() {
        @java.lang.Override
        public EventServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new EventServiceStub(channel, callOptions);
        }
      };
    return EventServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static EventServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<EventServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<EventServiceBlockingV2Stub>() {
        @java.lang.Override
        public EventServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new EventServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return EventServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static EventServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<EventServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<EventServiceBlockingStub>() {
        @java.lang.Override
        public EventServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new EventServiceBlockingStub(channel, callOptions);
        }
      };
    return EventServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static EventServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<EventServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<EventServiceFutureStub>() {
        @java.lang.Override
        public EventServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new EventServiceFutureStub(channel, callOptions);
        }
      };
    return EventServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * EventService streams what happens in the daemon: peers, pairing, links, transfers, streams,
   * commands and the daemon's own state.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Streams events, oldest first. The first message carries only `start`, sent once the
     * subscription is registered. With after_sequence set, events still held in the daemon's
     * replay buffer after that sequence are sent first, then live ones. Nothing is lost silently:
     * when events a subscriber should have received are unavailable (it fell behind and its queue
     * overflowed, or they left the replay buffer) the next response carries a gap naming the
     * missing sequence range, and the subscriber should re-read state with the List calls.
     * A slow subscriber never slows the daemon or other subscribers. The stream ends with OK
     * when the daemon shuts down (a subscriber that stopped reading and is still behind when the
     * shutdown grace period ends is cut off with SHUTTING_DOWN instead).
     * Errors: INVALID_ARGUMENT (unknown event type, after_sequence ahead of the log).
     * </pre>
     */
    default void subscribeEvents(dev.kizuna.v1.SubscribeEventsRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.SubscribeEventsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSubscribeEventsMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service EventService.
   * <pre>
   * EventService streams what happens in the daemon: peers, pairing, links, transfers, streams,
   * commands and the daemon's own state.
   * </pre>
   */
  public static abstract class EventServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return EventServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service EventService.
   * <pre>
   * EventService streams what happens in the daemon: peers, pairing, links, transfers, streams,
   * commands and the daemon's own state.
   * </pre>
   */
  public static final class EventServiceStub
      extends io.grpc.stub.AbstractAsyncStub<EventServiceStub> {
    private EventServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected EventServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new EventServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Streams events, oldest first. The first message carries only `start`, sent once the
     * subscription is registered. With after_sequence set, events still held in the daemon's
     * replay buffer after that sequence are sent first, then live ones. Nothing is lost silently:
     * when events a subscriber should have received are unavailable (it fell behind and its queue
     * overflowed, or they left the replay buffer) the next response carries a gap naming the
     * missing sequence range, and the subscriber should re-read state with the List calls.
     * A slow subscriber never slows the daemon or other subscribers. The stream ends with OK
     * when the daemon shuts down (a subscriber that stopped reading and is still behind when the
     * shutdown grace period ends is cut off with SHUTTING_DOWN instead).
     * Errors: INVALID_ARGUMENT (unknown event type, after_sequence ahead of the log).
     * </pre>
     */
    public void subscribeEvents(dev.kizuna.v1.SubscribeEventsRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.SubscribeEventsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getSubscribeEventsMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service EventService.
   * <pre>
   * EventService streams what happens in the daemon: peers, pairing, links, transfers, streams,
   * commands and the daemon's own state.
   * </pre>
   */
  public static final class EventServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<EventServiceBlockingV2Stub> {
    private EventServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected EventServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new EventServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Streams events, oldest first. The first message carries only `start`, sent once the
     * subscription is registered. With after_sequence set, events still held in the daemon's
     * replay buffer after that sequence are sent first, then live ones. Nothing is lost silently:
     * when events a subscriber should have received are unavailable (it fell behind and its queue
     * overflowed, or they left the replay buffer) the next response carries a gap naming the
     * missing sequence range, and the subscriber should re-read state with the List calls.
     * A slow subscriber never slows the daemon or other subscribers. The stream ends with OK
     * when the daemon shuts down (a subscriber that stopped reading and is still behind when the
     * shutdown grace period ends is cut off with SHUTTING_DOWN instead).
     * Errors: INVALID_ARGUMENT (unknown event type, after_sequence ahead of the log).
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<?, dev.kizuna.v1.SubscribeEventsResponse>
        subscribeEvents(dev.kizuna.v1.SubscribeEventsRequest request) {
      return io.grpc.stub.ClientCalls.blockingV2ServerStreamingCall(
          getChannel(), getSubscribeEventsMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service EventService.
   * <pre>
   * EventService streams what happens in the daemon: peers, pairing, links, transfers, streams,
   * commands and the daemon's own state.
   * </pre>
   */
  public static final class EventServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<EventServiceBlockingStub> {
    private EventServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected EventServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new EventServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Streams events, oldest first. The first message carries only `start`, sent once the
     * subscription is registered. With after_sequence set, events still held in the daemon's
     * replay buffer after that sequence are sent first, then live ones. Nothing is lost silently:
     * when events a subscriber should have received are unavailable (it fell behind and its queue
     * overflowed, or they left the replay buffer) the next response carries a gap naming the
     * missing sequence range, and the subscriber should re-read state with the List calls.
     * A slow subscriber never slows the daemon or other subscribers. The stream ends with OK
     * when the daemon shuts down (a subscriber that stopped reading and is still behind when the
     * shutdown grace period ends is cut off with SHUTTING_DOWN instead).
     * Errors: INVALID_ARGUMENT (unknown event type, after_sequence ahead of the log).
     * </pre>
     */
    public java.util.Iterator<dev.kizuna.v1.SubscribeEventsResponse> subscribeEvents(
        dev.kizuna.v1.SubscribeEventsRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getSubscribeEventsMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service EventService.
   * <pre>
   * EventService streams what happens in the daemon: peers, pairing, links, transfers, streams,
   * commands and the daemon's own state.
   * </pre>
   */
  public static final class EventServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<EventServiceFutureStub> {
    private EventServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected EventServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new EventServiceFutureStub(channel, callOptions);
    }
  }

  private static final int METHODID_SUBSCRIBE_EVENTS = 0;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_SUBSCRIBE_EVENTS:
          serviceImpl.subscribeEvents((dev.kizuna.v1.SubscribeEventsRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.SubscribeEventsResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getSubscribeEventsMethod(),
          io.grpc.stub.ServerCalls.asyncServerStreamingCall(
            new MethodHandlers<
              dev.kizuna.v1.SubscribeEventsRequest,
              dev.kizuna.v1.SubscribeEventsResponse>(
                service, METHODID_SUBSCRIBE_EVENTS)))
        .build();
  }

  private static abstract class EventServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    EventServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.kizuna.v1.EventServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("EventService");
    }
  }

  private static final class EventServiceFileDescriptorSupplier
      extends EventServiceBaseDescriptorSupplier {
    EventServiceFileDescriptorSupplier() {}
  }

  private static final class EventServiceMethodDescriptorSupplier
      extends EventServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    EventServiceMethodDescriptorSupplier(java.lang.String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (EventServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new EventServiceFileDescriptorSupplier())
              .addMethod(getSubscribeEventsMethod())
              .build();
        }
      }
    }
    return result;
  }
}
